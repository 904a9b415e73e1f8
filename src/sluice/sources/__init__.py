"""Sources: what creates messages besides a direct enqueue (cron schedules, file drops)."""
