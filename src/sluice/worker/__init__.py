"""The execution half of sluice: workers that claim, run handlers and complete outcomes."""
