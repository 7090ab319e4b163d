"""The learning loop, end to end, through the gateway's own logs.

1. Serve the gateway (uvicorn, real HTTP) in front of fake OpenAI-compatible backends,
   one per RouterBench model (protocol stand-ins: they answer, the grader judges).
2. The logging router is a deliberately weak production router: always
   meta/llama-2-70b-chat, with epsilon-greedy exploration (epsilon = 0.8), exact
   propensities. It routes real RouterBench prompts.
3. A simulated user sends each prompt to ``lmroute/auto`` and posts feedback with the
   TRUE quality of the model that answered (RouterBench's per-model correctness).
4. The off-policy learner (``router_model`` "offpolicy", doubly robust targets) is
   retrained on one half of the gateway's log (read back with
   the gateway source, ``data/convert/gateway.py``) and evaluated on the other, both ways
   (cross-fitting).
5. Over both held-out halves, the evaluation's doubly robust terms (``eval.ope``) of the
   new router's utility beat the logging router's, with a paired bootstrap interval of
   the difference above zero; the new router's TRUE held-out utility (every model's
   RouterBench quality and exact cost are known) beats the logging router's, is within
   DR's interval, and is compared with the best single fixed model (2026-12-01: new
   0.8238, logging 0.7090, always gpt-4 0.8226; DR 0.8405 [0.8099, 0.8691]).
6. Negative control: the same learner on outcomes shuffled across requests does not pass
   the DR gate against the best fixed model (lower bound -0.127).

Each prompt's exploration draw is seeded by the prompt (and ``LMROUTE_LOOP_SALT``) and the
log is split in the order the prompts were sent, so a run does not depend on how the
concurrent requests interleave (before, it did: difference means 0.022-0.080 over 4 runs,
one lower bound below zero). With cross-fitting, salts 0, 1, 2, 3 gave difference means
0.105, 0.067, 0.045, 0.078 with paired 95% lower bounds 0.076, 0.033, 0.010, 0.051; with
one held-out half only, salt 2's lower bound was -0.008.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import router_model.policies.baselines
import router_model.policies.offpolicy  # noqa: F401  (registers 'offpolicy')
from data.convert import convert as convert_log
from data.convert.routerbench import convert
from data.matrix import BanditLog, FullInfo
from eval.bootstrap import Bootstrap
from eval.gate import gate
from eval.ope import BanditData, round_values
from eval.reward_model import fit_predict_rewards
from router_model.decision import Decision
from router_model.featurizer import build_featurizer, featurize
from router_model.policies.base import Policy, make_policy
from router_model.policies.explore import epsilon_greedy_probs, sample_with_propensity
from router_model.reward import RewardWeights
from router_model.tokenization import load_tokenizer
from serve.settings import settings_from_dict
from tests.serve.conftest import backend, serve_gateway
from tests.serve.fakes import FakeControl, ThreadServer, fake_backend_app

# ~3.5 min alone on 2 idle cores (2,200 gateway requests, 4 cross-fitted ensembles): `make
# test-loop`. The default run's loop test is test_loop_command.py (the product command, with
# its placebo), so `make test` stays under 10 minutes.
pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODELS = ["gpt-4-1106-preview", "zero-one-ai/Yi-34B-Chat", "mistralai/mixtral-8x7b-chat",
          "meta/llama-2-70b-chat"]
PRICES = {MODELS[0]: (10.0, 30.0), MODELS[1]: (0.8, 0.8), MODELS[2]: (0.6, 0.6),
          MODELS[3]: (0.9, 0.9)}  # USD per Mtok (in, out)
W = RewardWeights(w_cost=20.0)
EPSILON, N_REQUESTS, CONCURRENCY = 0.8, 2200, 16
SALT = int(os.environ.get("LMROUTE_LOOP_SALT", "0"))  # another exploration draw per prompt


class PolicyRouter:
    """Router API over a fitted policy + featurizer (the logging router of the test)."""

    def __init__(self, policy: Policy, module: Any, tok: Any) -> None:
        self.policy, self.module, self.tok = policy, module, tok
        self.models = list(policy.models_)
        self.manifest: dict[str, Any] = {"models": self.models}

    def probs(self, X: np.ndarray, w: RewardWeights, allowed: np.ndarray, eps: float
              ) -> np.ndarray:
        return epsilon_greedy_probs(self.policy.select(X, w, allowed), allowed, eps)

    def route(self, text: str, weights: RewardWeights | None = None, allowed: Any = None,
              epsilon: float = 0.0, rng: np.random.Generator | None = None, *,
              latency_offset_ms: Any = None) -> Decision:
        assert latency_offset_ms is None  # no vLLM backend here, so no live-load offsets
        mask = np.array([[m in (allowed or self.models) for m in self.models]])
        X = featurize(self.module, self.tok, [text])
        p = self.probs(X, weights or RewardWeights(), mask, epsilon)[0]
        # each prompt's exploration draw depends on the prompt only, not on which
        # concurrent request reached the shared RNG first: the test is reproducible
        seed = zlib.crc32(f"{SALT}:{text}".encode())
        a, prop = sample_with_propensity(p, np.random.default_rng(seed))
        return Decision(self.models[a], a, prop, 0.0, "epsilon-greedy", {}, {})


async def drive(url: str, texts: list[str], truth: dict[tuple[str, str], float]) -> int:
    """Send every text to lmroute/auto and feed back the true quality; returns #answered."""
    sem = asyncio.Semaphore(CONCURRENCY)
    answered = 0

    async def one(c: httpx.AsyncClient, text: str) -> None:
        nonlocal answered
        async with sem:
            r = await c.post("/v1/chat/completions", json={
                "model": "lmroute/auto", "max_tokens": 8,
                "messages": [{"role": "user", "content": text}]})
            if r.status_code != 200:
                return
            q = truth[(text, r.headers["x-lmroute-served-model"])]
            fb = await c.post("/v1/feedback", json={"request_id": r.json()["id"], "quality": q})
            answered += fb.status_code == 200

    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        await asyncio.gather(*(one(c, t) for t in texts))
    return answered


def gateway_settings(fake_url: str, log_dir: Path) -> Any:
    backends = {f"b{i}": backend(fake_url, m, [m], price_in_per_mtok=PRICES[m][0],
                                 price_out_per_mtok=PRICES[m][1]) for i, m in enumerate(MODELS)}
    return settings_from_dict({
        "backends": backends, "seed": 7, "fallback_backend": None,
        "profiles": {"lmroute/auto": {"w_cost": W.w_cost, "epsilon": EPSILON}},
        "log": {"dir": str(log_dir), "flush_interval_s": 0.5}})


@dataclass
class World:
    """The gateway's own log (graded, in sent order), its features, and the truth: every
    model's quality on every logged request (RouterBench) and its exact cost (the fake
    backend's billing: the same prompt and completion tokens for every model)."""

    df: Any
    X: np.ndarray
    router: PolicyRouter
    true_u: np.ndarray  # (n, M) quality - w_cost * cost of every model on every request


@pytest.fixture(scope="module")
def world(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    full = FullInfo.from_frame(convert([shared_data / "routerbench"]).frame, MODELS)
    ok = ~np.isnan(full.quality).any(axis=1)
    queries = [str(q) for q in full.queries[ok]]
    uniq = {q: i for i, q in enumerate(queries)}  # one row per distinct prompt
    rows = np.array(sorted(uniq.values()))
    pick = np.random.default_rng(0).permutation(rows)[:N_REQUESTS]
    texts = [queries[i] for i in pick]
    quality = full.quality[ok]
    truth = {(queries[i], m): float(quality[i, j]) for i in pick for j, m in enumerate(MODELS)}
    tok = load_tokenizer()
    module, _ = build_featurizer("static", tok, texts)
    X_all = featurize(module, tok, texts)
    x_of = {t: i for i, t in enumerate(texts)}
    seed_log = full.subset(np.flatnonzero(ok)[pick[:50]])  # the logging policy's own fit
    logging_policy = make_policy("fixed", model=MODELS[3]).fit(X_all[:50], seed_log)
    router = PolicyRouter(logging_policy, module, tok)
    log_dir = tmp_path_factory.mktemp("loop") / "logs"
    with ThreadServer(fake_backend_app(FakeControl())) as fake, \
            serve_gateway(gateway_settings(f"{fake.url}/v1", log_dir), router) as url:
        assert asyncio.run(drive(url, texts, truth)) == N_REQUESTS
    res = convert_log("gateway", [log_dir])
    df = res.frame
    df = df.iloc[np.argsort([x_of[q] for q in df["query"]], kind="stable")]  # sent order
    assert len(df) == N_REQUESTS and df["propensity"].between(0.1, 1).all()
    assert res.skipped == {}  # every request was a graded routing decision
    q_true = np.array([[truth[(q, m)] for m in MODELS] for q in df["query"]])
    price_in = np.array([PRICES[m][0] for m in MODELS])
    price_out = np.array([PRICES[m][1] for m in MODELS])
    cost = (df["prompt_tokens"].to_numpy()[:, None] * price_in
            + df["completion_tokens"].to_numpy()[:, None] * price_out) / 1e6
    a = np.array([MODELS.index(m) for m in df["model"]])
    assert np.allclose(cost[np.arange(len(a)), a], df["cost_usd"])  # the billing is exact
    X = X_all[[x_of[q] for q in df["query"]]]
    return World(df.reset_index(drop=True), X, router, q_true - W.w_cost * cost)


def _cross_fit(w: World, shuffle: bool = False) -> dict[str, np.ndarray]:
    """Retrain on one half of the log, evaluate on the other, both ways; per-request DR
    terms of the new and the logging router and the new router's choices (n,)."""
    half = np.arange(len(w.df)) < len(w.df) // 2
    folds = [_fold(w, np.flatnonzero(a), np.flatnonzero(~a), shuffle) for a in (half, ~half)]
    order = np.concatenate([np.flatnonzero(~half), np.flatnonzero(half)])
    out = {k: np.concatenate([f[k] for f in folds]) for k in folds[0]}
    return {k: v[np.argsort(order)] for k, v in out.items()}  # back to log order


def test_router_retrained_on_gateway_logs_beats_the_logging_router(world: World) -> None:
    r = _cross_fit(world)
    n = len(world.df)
    boot = Bootstrap(n, n_boot=500, seed=0)
    diff = boot.mean_interval(r["new"] - r["logging"])
    new_dr = boot.mean_interval(r["new"])
    rows = np.arange(n)
    true_new = float(world.true_u[rows, r["choice"]].mean())
    probs = world.router.probs(world.X, W, np.ones((n, len(MODELS)), bool), EPSILON)
    true_logging = float((probs * world.true_u).sum(axis=1).mean())
    fixed = world.true_u.mean(axis=0)
    print(f"true utility: new {true_new:.4f}  logging {true_logging:.4f}  best fixed "
          f"{fixed.max():.4f} ({MODELS[int(fixed.argmax())]})  fixed {np.round(fixed, 4)}")
    print(f"DR: new {new_dr.to_dict()}  logging {r['logging'].mean():.4f}  "
          f"difference {diff.to_dict()}")
    assert diff.ci_low > 0, "the retrained router is not significantly better by DR"
    assert true_new > true_logging + 0.02  # and it really is, by the exact held-out truth
    assert new_dr.ci_low <= true_new <= new_dr.ci_high, "DR's interval misses the truth"
    # measured: new 0.8238 vs always-gpt-4 0.8226 (logging router 0.7090): the retrained
    # router matches the best single model on this world but does not clearly beat it
    # (issue #15's plateau); it must never fall clearly below it
    assert true_new > fixed.max() - 0.01, "the best fixed model does clearly better"


def test_a_learner_on_shuffled_rewards_does_not_pass_the_gate(world: World) -> None:
    """Negative control: with the outcomes shuffled across requests the learner has no
    signal; it must not beat the best fixed model by the same DR gate."""
    r = _cross_fit(world, shuffle=True)
    n = len(world.df)
    fixed = int(world.true_u.mean(axis=0).argmax())
    best = _fixed_dr(world, fixed)
    res = gate(r["new"], best, Bootstrap(n, n_boot=500, seed=0))
    print(f"shuffled learner vs always {MODELS[fixed]}: {res.reason}")
    assert not res.passed


def _fixed_dr(w: World, m: int) -> np.ndarray:
    """Per-request DR terms (n,) of always choosing model ``m``, cross-fitted like _fold."""
    half = np.arange(len(w.df)) < len(w.df) // 2
    out = np.zeros(len(w.df))
    for test in (np.flatnonzero(~half), np.flatnonzero(half)):
        held, reward, r_hat = _held(w, test)
        p = np.zeros((len(test), len(MODELS)))
        p[:, m] = 1.0
        out[test] = round_values(BanditData(held.action, held.propensity, reward, p, r_hat,
                                            MODELS))["dr"]
    return out


def _held(w: World, test: np.ndarray) -> tuple[BanditLog, np.ndarray, np.ndarray]:
    held = BanditLog.from_frame(w.df.iloc[test], MODELS)
    reward = held.quality - W.w_cost * held.cost_usd
    r_hat = fit_predict_rewards(w.X[test], held.action, reward, len(MODELS), seed=0)
    return held, reward, r_hat


def _fold(w: World, train: np.ndarray, test: np.ndarray, shuffle: bool
          ) -> dict[str, np.ndarray]:
    """Retrain the off-policy learner on ``train`` rows; per-request DR terms (n_test,) of
    the new and the logging router on ``test`` rows, and the new router's choices."""
    df = w.df.iloc[train]
    if shuffle:  # the whole outcome moves to another request: no signal left
        perm = np.random.default_rng(1).permutation(len(df))
        cols = ["quality", "cost_usd", "latency_ms", "energy_j"]
        df = df.assign(**{c: df[c].to_numpy()[perm] for c in cols})
    new = make_policy("offpolicy", estimator="dr", epochs=25, n_ensemble=3, seed=0)
    new.fit(w.X[train], BanditLog.from_frame(df, MODELS))
    held, reward, r_hat = _held(w, test)
    allowed = np.ones((len(test), len(MODELS)), dtype=bool)
    choice = new.select(w.X[test], W)
    candidates = {"new": np.eye(len(MODELS))[choice],
                  "logging": w.router.probs(w.X[test], W, allowed, EPSILON)}
    out = {k: round_values(BanditData(held.action, held.propensity, reward, p, r_hat,
                                      MODELS))["dr"] for k, p in candidates.items()}
    return {**out, "choice": choice}
