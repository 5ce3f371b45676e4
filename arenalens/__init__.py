"""arenalens: analyse arena-style evaluations of voice and audio AI models."""

__version__ = "0.1.0"
