"""Adapters that run handlers written for other systems unchanged."""

from sluice.compat.lambda_sqs import lambda_sqs_handler

__all__ = ["lambda_sqs_handler"]
