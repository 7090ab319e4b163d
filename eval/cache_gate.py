"""``python -m eval.cache_gate``: the similarity gate in front of the cache's verifier,
chosen on the verifier's validation pairs.

The verifier (``decision.kind: verifier``) judges only the candidates whose embedding
cosine reaches ``decision.min_similarity``. On a miss its cost (~0.4 ms a candidate on
one thread) is most of what the cache adds, so the gate decides how often a miss pays
it. This scores the validation split named in the verifier's manifest (QQP pairs and the
validation traps: never the test split) with both the embedding cosine and the
verifier, and per gate reports the share of the verifier's hits at its operating point
that the gate keeps (true and false ones) and the share of all pairs it still sends to
the verifier. The chosen gate is the highest that keeps at least ``--keep`` of the true
hits; it goes into ``conf/cache/semantic.yaml`` by hand, with the JSON this prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from serve.cache.embed import make_embedder
from serve.cache.keys import prompt_key
from serve.cache.verifier import Verifier
from train.cache_data import Pair, group_split, load_qqp, traps_for

log = logging.getLogger(__name__)
GRID = np.round(np.arange(0.50, 0.96, 0.025), 3)


def validation_pairs(shared: Path, manifest: dict[str, Any]) -> list[Pair]:
    """The verifier's validation split (QQP + traps), as its manifest describes it."""
    d = manifest["data"]
    pairs = load_qqp(shared / "semantic_cache" / "qqp_pairs.jsonl")
    if d["max_pairs"]:
        pairs = pairs[:d["max_pairs"]]
    val = group_split(pairs, d["val_fraction"], d["test_fraction"], d["split_seed"])["val"]
    return val + traps_for("val", val, d["traps"]["val"], d["split_seed"])


def score(pairs: list[Pair], router: str, verifier: Verifier
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n,) embedding cosine, (n,) verifier probability (-1 when a text does not fit),
    (n,) whether the pair is an exact-tier match (the gate never sees those)."""
    emb = make_embedder("router", router_dir=router, threads=1)
    ka = [prompt_key(p.a, "t") for p in pairs]
    kb = [prompt_key(p.b, "t") for p in pairs]
    cos = (emb.embed([k.query for k in ka]) * emb.embed([k.query for k in kb])).sum(axis=1)
    ia, ib = [verifier.ids(k.query) for k in ka], [verifier.ids(k.query) for k in kb]
    fits = np.array([verifier.fits(a) and verifier.fits(b) for a, b in zip(ia, ib,
                                                                             strict=True)])
    keep = np.flatnonzero(fits)
    prob = np.full(len(pairs), -1.0)
    prob[keep] = verifier.score_pairs([ia[i] for i in keep], [ib[i] for i in keep])
    exact = np.array([a.exact == b.exact for a, b in zip(ka, kb, strict=True)])
    return cos.astype(np.float64), prob, exact


def gate_table(cos: np.ndarray, prob: np.ndarray, exact: np.ndarray, labels: np.ndarray,
               threshold: float) -> list[dict[str, float]]:
    """Per gate in ``GRID``: shares of the verifier's true / false hits kept, and of the
    (non-exact) pairs it would still judge."""
    sem = ~exact
    hit = sem & (prob >= threshold)
    true, false = hit & (labels == 1), hit & (labels == 0)
    rows = []
    for g in GRID:
        past = cos >= g
        rows.append({"gate": float(g),
                     "true_hits_kept": float((true & past).sum() / max(true.sum(), 1)),
                     "false_hits_kept": float((false & past).sum() / max(false.sum(), 1)),
                     "judged_share": float((sem & past).sum() / max(sem.sum(), 1)),
                     "judged_share_non_duplicates": float(
                         (sem & past & (labels == 0)).sum()
                         / max((sem & (labels == 0)).sum(), 1))})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.cache_gate")
    ap.add_argument("--router", default="runs/demo/router", help="router artifact (embedder)")
    ap.add_argument("--verifier", default="runs/cache/verifier")
    ap.add_argument("--shared", default=os.environ.get("LMROUTE_SHARED_DATA",
                                                        "../shared/data"))
    ap.add_argument("--keep", type=float, default=0.99,
                    help="share of the verifier's true validation hits the gate must keep")
    ap.add_argument("--out", default="", help="also write the JSON here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not 0 < a.keep <= 1:
        ap.error(f"--keep: expected a share in (0, 1], got {a.keep}")
    verifier = Verifier(a.verifier, threads=1)
    pairs = validation_pairs(Path(a.shared), verifier.manifest)
    log.info("scoring %d validation pairs", len(pairs))
    cos, prob, exact = score(pairs, a.router, verifier)
    labels = np.array([p.label for p in pairs])
    rows = gate_table(cos, prob, exact, labels, verifier.threshold)
    ok = [r for r in rows if r["true_hits_kept"] >= a.keep]
    out = {"router": a.router, "verifier": a.verifier, "threshold": verifier.threshold,
           "pairs": len(pairs), "keep": a.keep,
           "chosen_gate": max(r["gate"] for r in ok) if ok else None, "grid": rows}
    text = json.dumps(out, indent=1)
    if a.out:
        Path(a.out).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
