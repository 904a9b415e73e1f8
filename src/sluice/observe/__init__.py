"""What sluice processes tell their operators: logs."""
