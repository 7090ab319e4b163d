"""A small synthetic full-information world with known ground truth (features drive each
model's success probability), and bandit logs simulated from it with exact propensities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.matrix import BanditLog, FullInfo

MODELS = ["small", "medium", "large"]
COST = np.array([1e-4, 1e-3, 1e-2])
LATENCY = np.array([200.0, 600.0, 1500.0])
ENERGY = np.array([50.0, 200.0, 900.0])


@dataclass
class World:
    X: np.ndarray  # (n, d) float32
    full: FullInfo


def make_world(n: int, seed: int, d: int = 8) -> World:
    """n requests; two tasks ("easy", "hard"); P(correct) = sigmoid(skill_m - difficulty)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    hard = X[:, 0] > 0
    difficulty = 1.5 * X[:, 1] + np.where(hard, 1.0, -1.0)
    skill = np.array([-0.5, 0.8, 2.0])
    p = 1 / (1 + np.exp(-(skill[None, :] - difficulty[:, None])))
    q = (rng.random((n, 3)) < p).astype(float)
    noise = rng.lognormal(0, 0.2, size=(n, 3))
    full = FullInfo(
        np.array([f"r{seed}-{i}" for i in range(n)]),
        np.array([f"query {i}" for i in range(n)]),
        np.where(hard, "hard", "easy").astype(object),
        list(MODELS),
        q,
        COST[None, :] * noise,
        LATENCY[None, :] * noise,
        ENERGY[None, :] * noise,
    )
    return World(X, full)


def simulate_bandit(full: FullInfo, seed: int, eps: float = 0.3) -> BanditLog:
    """Epsilon-greedy logger around a fixed preference (medium on easy, large on hard):
    p(chosen) = 1 - eps + eps / M if chosen is the preferred model else eps / M."""
    rng = np.random.default_rng(seed)
    n, M = full.quality.shape
    pref = np.where(full.tasks == "hard", 2, 1)
    probs = np.full((n, M), eps / M)
    probs[np.arange(n), pref] += 1 - eps
    a = (probs.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    rows = np.arange(n)
    return BanditLog(
        full.request_ids,
        full.queries,
        full.tasks,
        list(full.models),
        a.astype(np.int64),
        probs[rows, a],
        full.quality[rows, a],
        full.cost_usd[rows, a],
        full.latency_ms[rows, a],
        full.energy_j[rows, a],
        "eps-greedy-0.3",
    )
