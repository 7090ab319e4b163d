"""Router variants the suite can compare against the configured router (issue #15's ideas).

``router`` is the configured policy (conf/policy, the one that ships). Each variant is
the same policy class with other hyper-parameters, or another registered policy on the
static features; ``lmroute eval suite variants=[...]`` adds them to the comparison. What
each bought is in docs/routing.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from eval.suite.methods import MethodSpec
from router_model.policies import blend as _blend  # noqa: F401  (registers "blend")
from router_model.policies import joint as _joint  # noqa: F401  (registers "joint")
from router_model.policies import knn_blend as _knn_blend  # noqa: F401  ("blend_knn")
from router_model.policies import residual_prior as _residual  # noqa: F401  ("residual_prior")
from router_model.policies import stacked as _stacked  # noqa: F401  (registers "stacked")
from router_model.policies.base import Policy
from router_model.policies.supervised import SupervisedPolicy

# variants on other features than the shipped static ones
FEATURES = {"tail": "static_tail"}
VARIANTS: dict[str, dict[str, Any]] = {
    "tail": {},  # the static featurizer with a prompt-tail view (last 64 tokens)
    # linear heads on the standardised static features (per-model logistic regression)
    "linear": {"depth": 0, "epochs": 40, "weight_decay": 0.05},
    "wide": {"hidden": 256, "dropout": 0.5, "epochs": 30},
    # a narrow shared body: quality_m = sigmoid(h(x) . e_m + b_m) with h(x) of rank 16 / 4,
    # an item-response-like factorisation that shares more strength across models
    "rank16": {"hidden": 16},
    "rank4": {"hidden": 4},
    "longer": {"epochs": 40},
    "big_ensemble": {"n_ensemble": 10},
}


# other registered policies on the static features, with the grid the protocol tunes
POLICIES: dict[str, tuple[str, tuple[dict[str, Any], ...]]] = {
    "blend": ("blend", tuple({"alpha": a} for a in (0.3, 0.6, 0.85))),
    # the ensemble blended with the tag-free kNN (knn_inferred) on the static features
    "blend_knn": ("blend_knn", tuple({"alpha": a} for a in (0.3, 0.6, 0.85))),
    # the inferred task prior's logit plus a learned residual shrunk toward zero
    # (residual_prior.py); the residual's L2 strength by validation Brier
    "residual_prior": ("residual_prior", tuple({"residual_l2": r} for r in (0.01, 0.1, 1.0))),
    # the same with the prior's offset on training rows cross-fitted (3 folds)
    "residual_prior_cf": ("residual_prior", tuple({"residual_l2": r, "cross_fit": 3}
                                                  for r in (0.01, 0.1, 1.0))),
    # logit-space stacking of the ensemble and the inferred prior, per model (stacked.py)
    "stacked": ("stacked", ({},)),
    # Platt calibration of the ensemble alone (the same class without the prior view)
    "platt": ("stacked", ({"use_prior": False},)),
}


# the router's own hyper-parameters, fitted with another dataset's rows (eval/suite/joint.py)
JOINT_WEIGHTS = (0.3, 1.0)


def joint_spec(factory: Callable[..., Policy]) -> MethodSpec:
    """``router_joint``: the configured router's hyper-parameters, plus the auxiliary rows'
    weight tuned on validation."""
    router = factory()
    if not isinstance(router, SupervisedPolicy):
        raise ValueError(f"variants: joint needs the supervised router, the configured one is "
                         f"{type(router).__name__}")
    base = {k: v for k, v in router.params().items() if k != "n_aux"}
    grid = tuple({**base, "aux_weight": w} for w in JOINT_WEIGHTS)
    return MethodSpec("router_joint", "joint", "static", grid)


def router_specs(factory: Callable[..., Policy], variants: list[str]) -> dict[str, MethodSpec]:
    """``router`` plus ``router_<variant>`` for each named variant."""
    known = {*VARIANTS, *POLICIES, "joint"}
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ValueError(f"variants: unknown {unknown}; known: {sorted(known)}")
    specs = {"router": MethodSpec("router", "router", "static", factory=factory)}
    if "joint" in variants:
        specs["router_joint"] = joint_spec(factory)
    for v in [v for v in variants if v in POLICIES]:
        name, grid = POLICIES[v]
        specs[f"router_{v}"] = MethodSpec(f"router_{v}", name, "static", grid)
    for v in [v for v in variants if v in VARIANTS]:
        kw = VARIANTS[v]
        specs[f"router_{v}"] = MethodSpec(f"router_{v}", "router", FEATURES.get(v, "static"),
                                          factory=functools.partial(factory, **kw))
    return specs
