"""The AWS wire: ``POST /`` of ``sluice serve`` speaks the AWS JSON protocol (SQS today), so
unmodified AWS SDKs work against sluice by changing only their endpoint URL."""
