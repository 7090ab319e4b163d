"""Routing policies (a Hydra config group). Importing this package registers them all."""

from router_model.policies.base import REGISTRY, Policy, Predictions, make_policy, register

__all__ = ["REGISTRY", "Policy", "Predictions", "make_policy", "register"]
