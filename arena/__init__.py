"""The rater-facing arena: campaigns, invites, blind pairs served to raters, votes stored as
interactions through the ingest writer (`arenalens arena ...`)."""
