"""Off-policy evaluation of the router and the baselines on a bandit log.

The reward of a logged round is the realised utility of the logged model under the
configured weights. The reward model for DM/DR is cross-fitted on the log itself
(``eval.reward_model``) on the router's query embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from data.matrix import BanditLog
from eval.bootstrap import Bootstrap
from eval.candidates import Candidate
from eval.full_info import ROUTER, EvalSettings
from eval.ope import BanditData, estimate
from eval.reward_model import fit_predict_rewards
from router_model.reward import realised_utility

log = logging.getLogger(__name__)


def logged_reward(blog: BanditLog, s: EvalSettings) -> np.ndarray:
    """(n,) realised utility of the logged choice."""
    return realised_utility(blog.quality, blog.cost_usd, blog.latency_ms, blog.energy_j,
                            s.weights)


def prepare_rounds(
    blog: BanditLog, X: np.ndarray, s: EvalSettings, n_folds: int = 2
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Graded rounds: action, propensity, reward, cross-fitted reward_hat (n_ok, M), and
    the indices (n_ok,) of those rounds in the log (ungraded rounds are dropped)."""
    r = logged_reward(blog, s)
    ok = np.isfinite(r)
    if not ok.all():
        log.warning("dropping %d of %d rounds with ungraded outcomes", (~ok).sum(), len(r))
    idx = np.flatnonzero(ok)
    r_hat = fit_predict_rewards(
        X[idx], blog.action[idx], r[idx], len(blog.models), n_folds=n_folds, seed=s.seed
    )
    return {
        "action": blog.action[idx],
        "propensity": blog.propensity[idx],
        "reward": r[idx],
        "reward_hat": r_hat,
    }, idx


def evaluate_bandit(
    blog: BanditLog,
    X: np.ndarray,
    candidates: Mapping[str, Candidate],
    s: EvalSettings,
    tiny_propensity: float = 0.01,
    n_folds: int = 2,
) -> dict[str, Any]:
    """OPE of every candidate (``router`` included), overall and per task tag.

    Args:
        blog: n logged rounds (models in the candidates' order). X: (n, d) features.
    """
    base, idx = prepare_rounds(blog, X, s, n_folds)
    probs = {name: c.probs(s.weights)[idx] for name, c in candidates.items()}
    out = _ope_block(base, probs, blog.models, s, tiny_propensity)
    out.update(
        log_kind="bandit",
        n_dropped=len(blog) - len(idx),
        models=list(blog.models),
        logging_policy=blog.logging_policy,
    )
    tasks = blog.tasks[idx].astype(str)
    out["slices"] = {}
    for task in sorted(set(tasks) - {""}):
        rows = np.flatnonzero(tasks == task)
        if len(rows) < s.min_slice:
            continue
        sub = {k: v[rows] for k, v in base.items()}
        out["slices"][task] = _ope_block(
            sub, {k: v[rows] for k, v in probs.items()}, blog.models, s, tiny_propensity
        )
    return out


def _ope_block(
    base: dict[str, np.ndarray],
    probs: dict[str, np.ndarray],
    models: list[str],
    s: EvalSettings,
    tiny_propensity: float,
) -> dict[str, Any]:
    """``router.ope``, top-level ``ope`` (the router's) and ``baselines.<name>.ope``."""
    boot = Bootstrap(len(base["action"]), s.n_boot, s.seed, s.alpha)
    res = {}
    for name, p in probs.items():
        d = BanditData(
            base["action"], base["propensity"], base["reward"], p, base["reward_hat"], list(models)
        )
        res[name] = {
            "ope": estimate(d, boot, tiny_propensity).to_dict(),
            "share": dict(zip(models, p.mean(axis=0).tolist(), strict=True)),
        }
    router = res.pop(ROUTER)
    return {
        "n_requests": len(base["action"]),
        "router": router,
        "ope": router["ope"],
        "baselines": res,
    }
