"""Helpers for tests and local development (a loopback OpenAI-compatible LLM server)."""
