"""Train the cascade's verifier for a router artifact on RouterBench's answers, choose its
threshold on a validation split, export the artifact (``router_model.verifier_artifact``).

The offline cascade's code is reused as is (``eval.suite.cascade``: the answer texts,
``_train_verifier`` on every model's answers of the fitting requests, ``_score``, ``_pr``);
what differs is where the prompt features come from: the router artifact's own
``features`` output (``Router.embed``), the one the gateway has at request time, so the
verifier ships with the router it was trained for (``router_onnx_sha256``).

Split: ``val_fraction`` of each task's prompt groups is held out (the suite's
``eval.suite.splits._val_of``: identical prompts never on both sides); the verifier and
its answer featurizer (the router's static featurizer, SIF weights counted on the fitting
answers) see only the rest.

Threshold rule (``tau_rule``): ``youden`` = the tau maximising TPR - FPR of "accept =
p >= tau" (correct answers as positives) on the validation answers; ``precision`` = the
smallest tau whose accepted validation answers are at least ``target_precision`` correct.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)
TAU_RULES = ("youden", "precision")


@dataclass
class VerifierTrainArgs:
    """Plain arguments of ``train_verifier_artifact``; the defaults live in one place, the
    CLI's schema (``verifier_cli.VerifierTrainConf``, conf/verifier_train.yaml)."""

    router: Path
    out_dir: Path
    shared_data: Path
    val_fraction: float
    seed: int
    max_requests: int | None
    answer_dim: int
    sif_a: float
    tau_rule: str
    target_precision: float

    def validate(self) -> VerifierTrainArgs:
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected in (0, 1), got {self.val_fraction}")
        if self.tau_rule not in TAU_RULES:
            raise ValueError(f"tau_rule: expected one of {TAU_RULES}, got {self.tau_rule!r}")
        if not 0.0 < self.target_precision <= 1.0:
            raise ValueError(f"target_precision: expected in (0, 1], got "
                             f"{self.target_precision}")
        if self.answer_dim < 8:
            raise ValueError(f"answer_dim: expected >= 8, got {self.answer_dim}")
        if not (self.router / "manifest.json").is_file():
            raise FileNotFoundError(f"router: {self.router}/manifest.json missing (a router "
                                    "artifact directory from `lmroute train`)")
        return self


def choose_tau(p: np.ndarray, correct: np.ndarray, rule: str,
               target_precision: float = 0.9) -> float:
    """The threshold of ``rule`` (module docstring) on scores ``p`` and labels ``correct``."""
    from sklearn.metrics import roc_curve

    if rule == "youden":
        fpr, tpr, thr = roc_curve(correct, p)
        j = int(np.argmax(tpr - fpr))
        return float(min(thr[j], 1.0))
    if rule == "precision":
        for tau in np.unique(p):  # ascending: the smallest tau that reaches the target
            accept = p >= tau
            if (accept & correct).sum() >= target_precision * accept.sum():
                return float(tau)
        return 1.0
    raise ValueError(f"tau_rule: expected one of {TAU_RULES}, got {rule!r}")


def validation_stats(p: np.ndarray, correct: np.ndarray, tau: float) -> dict[str, Any]:
    """AUC, precision / recall of "accept = p >= tau" and the reject (escalation) share."""
    from sklearn.metrics import roc_auc_score

    from eval.suite.cascade import _pr

    return {"auc": float(roc_auc_score(correct, p)), **_pr(p >= tau, correct),
            "reject_rate": float((p < tau).mean()), "n_answers": int(p.size),
            "correct_rate": float(correct.mean())}


def _prompt_features(router: Any, queries: np.ndarray, batch: int = 64) -> np.ndarray:
    out = [router.embed([str(q) or " " for q in queries[s:s + batch]])
           for s in range(0, len(queries), batch)]
    return np.concatenate(out).astype(np.float32)


def _split(tasks: np.ndarray, queries: np.ndarray, frac: float, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """(fit, val) row indices: ``frac`` of each task's prompt groups held out, the suite's
    rule (identical prompts never on both sides)."""
    from eval.suite.splits import _val_of, text_groups

    val = _val_of(np.arange(len(tasks)), tasks, text_groups(queries), frac, seed)
    return np.setdiff1d(np.arange(len(tasks)), val), val


def train_verifier_artifact(a: VerifierTrainArgs) -> dict[str, Any]:
    """Train, choose tau, export; returns the written manifest."""
    from eval.suite.cascade import _score, _train_verifier, answer_bank, answers
    from eval.suite.datasets import load_dataset
    from router_model.runtime import Router
    from router_model.verifier_artifact import ArtifactInputs, write_verifier_artifact

    a.validate()
    router = Router.load(a.router)
    full = load_dataset("routerbench", a.shared_data, a.max_requests, a.seed).full
    missing = [m for m in router.models if m not in full.models]
    if missing:
        raise ValueError(f"router: models {missing} have no answers in RouterBench "
                         f"({a.shared_data}/routerbench)")
    full = _reorder(full, router.models)
    fit, val = _split(full.tasks, full.queries, a.val_fraction, a.seed)
    texts = answers(a.shared_data / "routerbench", full.request_ids, full.models)
    featurizer, A = answer_bank(texts, fit, a.answer_dim, a.sif_a, router.max_tokens)
    P = _prompt_features(router, full.queries)
    torch.manual_seed(a.seed)
    v = _train_verifier(P, A, full.quality, fit)
    p_val = _score(v, P[val], A[val])
    correct = full.quality[val] > 0.5
    tau = choose_tau(p_val.ravel(), correct.ravel(), a.tau_rule, a.target_precision)
    stats = {**validation_stats(p_val.ravel(), correct.ravel(), tau),
             "n_fit_requests": len(fit), "n_val_requests": len(val),
             "seed": a.seed, "val_fraction": a.val_fraction}
    log.info("verifier: tau %.3f (%s), validation %s", tau, a.tau_rule, stats)
    inp = ArtifactInputs(list(router.models), tau, a.tau_rule, stats,
                         str(router.manifest["onnx_sha256"]), router.directory / "tokenizer.json",
                         router.max_tokens, int(P.shape[1]))
    k = min(32, len(val))
    parity_texts = [str(texts[val[i % k], i % len(full.models)]) for i in range(k)]
    return write_verifier_artifact(a.out_dir, featurizer, v, inp, parity_texts,
                                   P[val[:k]])


def _reorder(full: Any, models: list[str]) -> Any:
    """``full`` with its model columns in ``models`` order (the router's one-hot order)."""
    from data.matrix import FullInfo

    idx = [full.models.index(m) for m in models]
    return FullInfo(full.request_ids, full.queries, full.tasks, list(models),
                    full.quality[:, idx], full.cost_usd[:, idx], full.latency_ms[:, idx],
                    full.energy_j[:, idx])
