"""arenalens dashboard package."""
