"""Event sources: cron schedules, file drops and the event bus."""
