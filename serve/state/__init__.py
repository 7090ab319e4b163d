"""State several gateway replicas share (docs/scale.md): the key directory, budgets, backend
health and the fleet's router, each behind a narrow interface (``base.py``) with the
embedded single-process implementation and a Redis / PostgreSQL one, chosen by the serve
config's ``state`` group (``build.py``)."""
