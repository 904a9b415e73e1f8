"""Runnable demonstrations of sluice's stories."""
