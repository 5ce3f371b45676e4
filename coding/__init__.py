"""arenalens coding package."""
