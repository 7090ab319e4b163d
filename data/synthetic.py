"""Seeded synthetic full-information logs with KNOWN ground truth, for unit tests.

Each request has a latent topic; its query is made of words from that topic's
vocabulary (plus filler words), so text features carry real signal. Model m's expected
quality on topic t is ``skill[m, t]``: a model-level base (rising with price) plus a
topic specialty. Observed quality is Bernoulli(truth) (0/1, like benchmark grading).
Costs: per-model price x tokens with lognormal noise; latency / energy from per-model
synthetic profiles. Same seed -> identical output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import SCHEMA

TOPICS: dict[str, tuple[str, ...]] = {
    "math": (
        "integral",
        "equation",
        "prime",
        "matrix",
        "derivative",
        "polynomial",
        "sum",
        "fraction",
        "geometry",
        "triangle",
        "probability",
        "vector",
        "limit",
        "root",
    ),
    "code": (
        "python",
        "function",
        "compile",
        "loop",
        "array",
        "recursion",
        "bug",
        "class",
        "pointer",
        "thread",
        "regex",
        "database",
        "query",
        "api",
    ),
    "history": (
        "empire",
        "treaty",
        "revolution",
        "dynasty",
        "war",
        "king",
        "colony",
        "century",
        "senate",
        "republic",
        "pharaoh",
        "medieval",
        "parliament",
        "army",
    ),
    "biology": (
        "cell",
        "protein",
        "gene",
        "enzyme",
        "species",
        "membrane",
        "neuron",
        "bacteria",
        "evolution",
        "organism",
        "tissue",
        "mitosis",
        "virus",
        "dna",
    ),
    "law": (
        "contract",
        "court",
        "statute",
        "plaintiff",
        "liability",
        "tort",
        "appeal",
        "jurisdiction",
        "verdict",
        "evidence",
        "clause",
        "negligence",
        "defendant",
        "jury",
    ),
    "cooking": (
        "recipe",
        "oven",
        "flour",
        "simmer",
        "garlic",
        "sauce",
        "bake",
        "knead",
        "spice",
        "broth",
        "saute",
        "dough",
        "marinade",
        "butter",
    ),
}
FILLER = (
    "what",
    "is",
    "the",
    "how",
    "does",
    "a",
    "explain",
    "why",
    "which",
    "of",
    "in",
    "please",
    "and",
    "to",
    "for",
    "about",
)
START = pd.Timestamp("2025-01-01", tz="UTC")
QUERY_WORDS = 12


@dataclass
class SyntheticData:
    """A synthetic full-information log and its ground truth.

    Attributes:
        frame: canonical long table, n_requests x M rows (request-major order).
        truth: (n, M) float64 true expected quality; row i = i-th request in ``frame``.
        topics: (n,) int64 latent topic index of each request (into ``topic_names``).
        models: M model names (column order of ``truth``).
        topic_names: topic names.
        skill: (M, T) expected quality of each model on each topic.
    """

    frame: pd.DataFrame
    truth: np.ndarray
    topics: np.ndarray
    models: list[str]
    topic_names: list[str]
    skill: np.ndarray


def _skills(rng: np.random.Generator, m: int, t: int) -> np.ndarray:
    base = np.linspace(0.35, 0.8, m)  # pricier models are better on average
    special = rng.normal(0.0, 0.18, size=(m, t))
    return np.clip(base[:, None] + special, 0.02, 0.98)


def _queries(rng: np.random.Generator, topics: np.ndarray, names: list[str]) -> list[str]:
    n = len(topics)
    length = QUERY_WORDS
    vocab = np.array([w for t in names for w in TOPICS[t]] + list(FILLER), dtype=object)
    per = len(TOPICS[names[0]])
    topical = topics[:, None] * per + rng.integers(0, per, size=(n, length))
    filler = len(vocab) - len(FILLER) + rng.integers(0, len(FILLER), size=(n, length))
    words = np.where(rng.random((n, length)) < 0.7, topical, filler)
    return [" ".join(row) for row in vocab[words]]


def _per_request(
    seed: int, seconds: np.ndarray, queries: list[str], tasks: np.ndarray
) -> pd.DataFrame:
    """(n,) request-level columns: id, timestamp, query, task, prompt_tokens (words)."""
    n = len(queries)
    return pd.DataFrame(
        {
            "request_id": pd.array([f"synth/{seed}/{i}" for i in range(n)], dtype="str"),
            "timestamp": (START + pd.to_timedelta(seconds, unit="s")).floor("us"),
            "query": pd.array(queries, dtype="str"),
            "task": pd.array(tasks, dtype="str"),
            "prompt_tokens": np.array([q.count(" ") + 1 for q in queries], dtype=np.int64),
        }
    )


def make_synthetic(
    n_requests: int, models: int | list[str] = 4, seed: int = 0, n_topics: int = 4
) -> SyntheticData:
    """Generate ``n_requests`` x M full-information rows with known truth (see module)."""
    rng = np.random.default_rng(seed)
    names = list(models) if isinstance(models, list) else [f"synth-{k}" for k in range(models)]
    m, topic_names = len(names), list(TOPICS)[:n_topics]
    skill = _skills(rng, m, n_topics)
    topics = rng.integers(0, n_topics, size=n_requests)
    truth = skill[:, topics].T  # (n, M)
    queries = _queries(rng, topics, topic_names)
    prompt_tokens = np.full(n_requests, QUERY_WORDS, dtype=np.int64)
    completion = rng.poisson(60 + 40 * topics[:, None], size=(n_requests, m)).astype(np.int64)
    price = np.geomspace(0.2, 10.0, m) / 1e6  # USD per token, cheap -> expensive
    noise = rng.lognormal(0.0, 0.1, size=(n_requests, m))
    cost = price[None, :] * (prompt_tokens[:, None] + completion) * noise
    tpot = np.linspace(10.0, 40.0, m)
    seconds = np.sort(rng.uniform(0, 30 * 86400, size=n_requests))
    per_request = _per_request(seed, seconds, queries, np.array(topic_names)[topics])
    frame = per_request.take(np.repeat(np.arange(n_requests), m)).reset_index(drop=True)
    frame = frame.assign(
        model=pd.array(names, dtype="str").take(np.tile(np.arange(m), n_requests)),
        quality=(rng.random((n_requests, m)) < truth).astype(float).ravel(),
        cost_usd=cost.ravel(),
        latency_ms=(200.0 + tpot[None, :] * completion).ravel(),
        energy_j=(np.linspace(0.1, 1.0, m)[None, :] * completion).ravel(),
        completion_tokens=completion.ravel(),
        propensity=np.nan,
        logging_policy=None,
        source="synthetic",
        latency_source="profile",
        energy_source="profile",
        meta=None,
    )
    return SyntheticData(frame[list(SCHEMA.names)], truth, topics, names, topic_names, skill)
