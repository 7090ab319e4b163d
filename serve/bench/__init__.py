"""The gateway benchmark (``lmroute bench gateway``: ``cli``), its processes, load
generator, LiteLLM comparison, markdown rendering, and the fast fake backend it measures
against (``python -m serve.bench.fast_backend``). Not used on the request path."""
