"""Routing policies (a Hydra config group).

Importing this package registers the baselines; the learned policies (``supervised``,
``offpolicy``, ``explore``) register when their modules are imported (they need torch)."""

from router_model.policies import baselines as _baselines  # noqa: F401  (registers them)
from router_model.policies import text_baselines as _text  # noqa: F401  (registers them)
from router_model.policies.base import REGISTRY, Policy, Predictions, make_policy, register

__all__ = ["REGISTRY", "Policy", "Predictions", "make_policy", "register"]
