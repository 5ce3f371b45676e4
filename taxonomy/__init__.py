"""arenalens taxonomy package."""
