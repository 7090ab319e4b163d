"""Run the suite: for each dataset and split, fit every method and compute its figures.

``run_suite(settings, router)`` returns a ``SuiteResult``: per dataset, per group (``all``
or a benchmark inside the dataset), per figure, per method, the figures of every split.
``settings.part = "val"`` is the development mode: methods are scored on each split's
validation part (tuned on a further carve of its train part) and the test parts are
never read, so ideas can be chosen without touching the figures that are reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data.matrix import FullInfo
from eval.bootstrap import Bootstrap
from eval.curves import reference_index
from eval.suite.cascade import cascade_for_split
from eval.suite.cascade_agree import agree_cascade_for_split
from eval.suite.config import DEFAULT_BASELINES
from eval.suite.cost_model import LogLinearCost
from eval.suite.datasets import SuiteData, load_dataset
from eval.suite.features import FeatureBank
from eval.suite.joint import AUX_OF, AuxSource
from eval.suite.methods import Fitted, MethodSpec, baseline_specs, fit_method
from eval.suite.metrics import (
    ORACLE,
    Figure,
    accuracy_figure,
    apgr_figures,
    curve_figures,
    realised_sweep,
    sweep_choices,
    w_grid,
)
from eval.suite.onboard import onboard_for_split
from eval.suite.splits import Split, _val_of, check_leak_free, make_splits, text_groups

log = logging.getLogger(__name__)
TAIL_VIEW = 64  # the ``tail`` variant's prompt-tail view (tokens)
# figures[dataset][group][figure][method] -> one Figure per split
Figures = dict[str, dict[str, dict[str, dict[str, list[Figure]]]]]


@dataclass(frozen=True)
class SuiteSettings:
    """Plain settings (``eval.suite.config.SuiteConfig`` maps onto these)."""

    shared: Path
    datasets: tuple[str, ...] = ("routerbench", "routellm", "dcrouter")
    n_splits: int = 5
    seed: int = 0
    val_fraction: float = 0.15
    max_requests: int | None = None
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    baseline_features: str = "minilm"
    n_boot: int = 1000
    n_points: int = 40
    quality_frac: float = 0.95
    part: str = "test"
    dim: int = 256
    sif_a: float = 1e-3
    tail_tokens: int = 0
    cascade: bool = True
    onboard_model: str = "mistralai/mixtral-8x7b-chat"  # "" = no onboarding study


@dataclass
class SuiteResult:
    """Figures of every split, curve points of split 0 for the plots, dataset facts."""

    settings: SuiteSettings
    figures: Figures = field(default_factory=dict)
    curves: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    facts: dict[str, dict[str, object]] = field(default_factory=dict)
    cascade: list[dict[str, object]] = field(default_factory=list)  # per split (RouterBench)
    cascade_agree: list[dict[str, object]] = field(default_factory=list)  # per split
    onboard: list[dict[str, object]] = field(default_factory=list)  # rows (RouterBench)


def dev_split(split: Split, tasks: np.ndarray, queries: np.ndarray, frac: float,
              seed: int) -> Split:
    """Development view of a split: test = its validation part, validation carved from its
    train part (the test part is left out entirely)."""
    inner = _val_of(split.train, tasks.astype(str), text_groups(queries), frac, seed)
    return Split(split.k, np.setdiff1d(split.train, inner), inner, split.val)


def method_specs(s: SuiteSettings, router: dict[str, MethodSpec]) -> list[MethodSpec]:
    """The configured baselines plus the router variants (``mlp_minilm`` is the router's
    own policy class on MiniLM embeddings, built by the first router's factory)."""
    base = baseline_specs(s.baseline_features)
    first = next(iter(router.values()))
    base["mlp_minilm"] = MethodSpec("mlp_minilm", first.policy, s.baseline_features,
                                    factory=first.factory)
    unknown = [b for b in s.baselines if b not in base]
    if unknown:
        raise ValueError(f"baselines: unknown {unknown}; known: {sorted(base)}")
    return [base[b] for b in s.baselines] + list(router.values())


def run_suite(s: SuiteSettings, router: dict[str, MethodSpec]) -> SuiteResult:
    """Every dataset of ``s`` (see module docstring)."""
    if s.part not in ("test", "val"):
        raise ValueError(f"part: expected 'test' or 'val', got {s.part!r}")
    res = SuiteResult(s)
    specs = method_specs(s, router)
    for name in s.datasets:
        data = load_dataset(name, s.shared, s.max_requests, s.seed)
        _run_dataset(s, data, specs, res)
    return res


def _run_dataset(s: SuiteSettings, data: SuiteData, specs: list[MethodSpec],
                 res: SuiteResult) -> None:
    full = data.full
    texts = [str(q) for q in full.queries]
    bank = FeatureBank(texts, s.dim, s.sif_a, tail_tokens=s.tail_tokens)
    splits = make_splits(full.tasks, full.queries, s.n_splits, s.seed, s.val_fraction)
    res.facts[data.spec.name] = {"n_requests": len(full), "models": list(full.models),
                                 "n_dropped": data.n_dropped, "reference": data.spec.reference,
                                 "test_sizes": [len(sp.test) for sp in splits]}
    figs = res.figures.setdefault(data.spec.name, {})
    aux = _aux_source(s, data, specs, texts)
    for split in tqdm(splits, desc=f"suite {data.spec.name}", unit="split"):
        check_leak_free(split, full.queries)
        if s.part == "val":
            split = dev_split(split, full.tasks, full.queries, s.val_fraction, s.seed + split.k)
        fitted, static = _fit_all(specs, bank, full, split, aux)
        cost = LogLinearCost().fit([texts[i] for i in split.fit], full.cost_usd[split.fit])
        cost_test = cost.predict([texts[i] for i in split.test])
        boot = Bootstrap(len(split.test), s.n_boot, s.seed + split.k)
        _split_figures(s, data, split, fitted, static, cost_test, boot, figs, res)
        router = next((sp for sp in specs if sp.name == "router"), None)
        if data.spec.name == "routerbench" and s.onboard_model and router is not None:
            res.onboard += onboard_for_split(s, data, split, static, router.factory,
                                             s.onboard_model)


def _aux_source(s: SuiteSettings, data: SuiteData, specs: list[MethodSpec],
                texts: list[str]) -> AuxSource | None:
    """The other dataset's rows for the ``joint`` variant (None: no joint spec, or no
    dataset shares models with this one)."""
    other = AUX_OF.get(data.spec.name)
    if other is None or not any(sp.policy == "joint" for sp in specs):
        return None
    aux = load_dataset(other, s.shared, s.max_requests, s.seed).full
    return AuxSource(aux, texts, list(data.full.models))


def _fit_all(specs: list[MethodSpec], bank: FeatureBank, full: FullInfo,
             split: Split, aux: AuxSource | None = None
             ) -> tuple[dict[str, Fitted], np.ndarray]:
    """Every method fitted on the split, and the static features (n, d) it used."""
    featurizer, static = bank.static(split.train)
    feats = {"static": static, "none": np.zeros((len(full), 1), np.float32)}
    if any(sp.features == "static_tail" for sp in specs):
        feats["static_tail"] = bank.static(split.train, tail_tokens=TAIL_VIEW)[1]
    if any(sp.features == "minilm" for sp in specs):
        feats["minilm"] = bank.minilm()
    joint = {"aux": aux.rows(featurizer, split.train) if aux is not None else None}
    return {sp.name: fit_method(sp, feats[sp.features], full, split,
                                joint if sp.policy == "joint" else None)
            for sp in specs}, static


def _add(figs: dict[str, dict[str, list[Figure]]], group_figs: dict[str, Figure],
         method: str) -> None:
    for fig, f in group_figs.items():
        figs.setdefault(fig, {}).setdefault(method, []).append(f)


def _split_figures(s: SuiteSettings, data: SuiteData, split: Split,
                   fitted: dict[str, Fitted], static: np.ndarray, cost_test: np.ndarray,
                   boot: Bootstrap,
                   figs: dict, res: SuiteResult) -> None:
    test = data.full.subset(split.test)
    if data.spec.groups:
        for g in data.spec.groups:
            rows = np.flatnonzero(np.isin(split.test, data.group_rows(g)))
            _two_model(data.full.subset(split.fit), test.subset(rows),
                       {k: f.quality[rows] for k, f in fitted.items()},
                       Bootstrap(len(rows), s.n_boot, boot.seed), figs.setdefault(g, {}))
        return
    grid = w_grid(test.cost_usd, s.n_points)
    choices = {k: sweep_choices(f.quality, cost_test, grid) for k, f in fitted.items()}
    choices[ORACLE] = sweep_choices(test.quality, test.cost_usd, grid)
    outcomes = {k: realised_sweep(test, ch) for k, ch in choices.items()}
    ref = reference_index(test.quality.mean(0), test.cost_usd.mean(0), test.models,
                          data.spec.reference)
    if data.spec.name == "routerbench" and s.cascade and "router" in fitted:
        outcomes["cascade"] = cascade_for_split(s, data, split, fitted["router"], static,
                                                cost_test, grid, res)
        outcomes["cascade_agree"] = agree_cascade_for_split(
            s, data, split, fitted["router"], cost_test, grid, ref, res)
    group = figs.setdefault("all", {})
    for method, f in curve_figures(test, outcomes, boot, ref, s.quality_frac).items():
        _add(group, f, method)
    for k, ft in fitted.items():
        _add(group, {"accuracy": accuracy_figure(test, ft.quality, boot)}, k)
    _add(group, {"accuracy": accuracy_figure(test, test.quality, boot)}, ORACLE)
    if split.k == 0:
        res.curves[data.spec.name] = _curve_points(test, outcomes)


def _two_model(fit: FullInfo, test: FullInfo, quality: dict[str, np.ndarray],
               boot: Bootstrap, figs: dict) -> None:
    """APGR / CPT of every method on one benchmark's test rows (strong = best on fit)."""
    strong = int(np.argmax(np.nanmean(fit.quality, axis=0)))
    weak = 1 - strong
    for k, q in quality.items():
        _add(figs, apgr_figures(test, q[:, strong] - q[:, weak], strong, boot), k)
    _add(figs, apgr_figures(test, test.quality[:, strong] - test.quality[:, weak], strong,
                            boot), ORACLE)


def _curve_points(test: FullInfo, outcomes: dict[str, tuple[np.ndarray, np.ndarray]]
                  ) -> dict[str, list]:
    """Mean (cost, quality) per operating point of every method, and the single models."""
    out = {k: np.stack([c.mean(0), q.mean(0)], 1).tolist() for k, (c, q) in outcomes.items()}
    out["single_models"] = np.stack([test.cost_usd.mean(0), test.quality.mean(0)], 1).tolist()
    return out


__all__ = ["SuiteResult", "SuiteSettings", "dev_split", "replace", "run_suite"]
