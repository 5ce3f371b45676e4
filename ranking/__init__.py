"""arenalens ranking package."""
