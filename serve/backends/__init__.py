"""Backends: OpenAI-compatible HTTP endpoints (and the embedded llama.cpp server)."""
