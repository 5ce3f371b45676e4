"""arenalens inference package."""
