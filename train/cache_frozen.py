"""An experiment on the hit decision: heads over FROZEN all-MiniLM-L6-v2 outputs.

``python -m train.cache_frozen --out runs/cache/frozen [--train 8000 --val 3000 --test 3000]``

What a learned decision gains over a plain MiniLM cosine threshold when it sees more
than the cosine, at a cost a 2-core CPU can pay (a full cross-encoder fine-tune ran at
~1 pair/s on this shared machine). The QQP pairs are split by connected group exactly as
``lmroute cache train`` splits them (fractions 0.15 / 0.15, seed 0), then subsampled
(seeded); traps come from each subsample's own questions (``train.cache_data.traps_for``).
Every text is encoded once by the frozen MiniLM (torch, ``--threads``): token states
(last layer) and the mean-pooled unit sentence vector. Systems, each scored on the same
validation and test pairs:

- ``minilm_cosine``: the baseline (cosine of the sentence vectors);
- ``features``: gradient-boosted trees over [cos, |u - v|, u * v, lexical overlap,
  length difference, number / negation mismatch];
- ``esim_ctx``: the ESIM pair head of ``train.cache_model`` over the contextual token
  states instead of the static table (BCE, a few epochs).

Each system's operating point is chosen on the validation pairs (<= ``--target`` QQP
false hits and <= ``--trap-target`` per trap category, as ``lmroute cache train``); the
test figures are read at that threshold, and also at a threshold tuned on the test pairs
themselves (the "@ 2%" rows of ``lmroute cache eval``). Writes ``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from train.cache_calibrate import operating_point, rate_at, recall_at_fhr, sigmoid
from train.cache_data import Pair, group_split, load_qqp, traps_for
from train.cache_traps import TRAP_CATEGORIES

log = logging.getLogger("train.cache_frozen")
WORD = re.compile(r"[a-z0-9']+")
NUM = re.compile(r"\d+")
NEG = frozenset({"not", "no", "never", "without", "nothing", "none", "cannot", "nobody"})


def subsample_split(pairs: list[Pair], n: int, traps_per_cat: int, split: str,
                    seed: int) -> list[Pair]:
    if 0 < n < len(pairs):
        pairs = random.Random(seed).sample(pairs, n)
    return pairs + traps_for(split, pairs, traps_per_cat, seed)


class Encoder:
    """Frozen MiniLM: texts -> (token states fp16 list, unit sentence vectors)."""

    def __init__(self, threads: int, max_tokens: int = 128) -> None:
        from transformers import AutoModel

        from router_model.tokenization import load_tokenizer, source_model_dir

        torch.set_num_threads(threads)
        self.model = AutoModel.from_pretrained(str(source_model_dir()),
                                               attn_implementation="eager").eval()
        self.tok = load_tokenizer(512)
        self.tok.no_padding()
        self.max_tokens = max_tokens

    @torch.inference_mode()
    def encode(self, texts: list[str], batch: int = 64
               ) -> tuple[list[np.ndarray], list[list[int]], np.ndarray]:
        ids = [e.ids[-self.max_tokens:] for e in self.tok.encode_batch(texts)]
        order = np.argsort([len(x) for x in ids], kind="stable")
        states: list[np.ndarray] = [np.zeros(0)] * len(texts)
        sent = np.zeros((len(texts), 384), np.float32)
        t0, done = time.time(), 0
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            w = max(len(ids[i]) for i in idx)
            a = np.zeros((len(idx), w), np.int64)
            m = np.zeros_like(a)
            for j, i in enumerate(idx):
                a[j, :len(ids[i])] = ids[i]
                m[j, :len(ids[i])] = 1
            h = self.model(input_ids=torch.from_numpy(a),
                           attention_mask=torch.from_numpy(m)).last_hidden_state.numpy()
            mm = m[..., None].astype(np.float32)
            pooled = (h * mm).sum(1) / mm.sum(1)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            for j, i in enumerate(idx):
                states[i] = h[j, :len(ids[i])].astype(np.float16)
                sent[i] = pooled[j]
            done += len(idx)
            if (s // batch) % 50 == 0:
                log.info("encoded %d/%d texts (%.0f texts/s)", done, len(texts),
                         done / max(time.time() - t0, 1e-9))
        return states, ids, sent


def lexical(a: str, b: str) -> list[float]:
    wa, wb = set(WORD.findall(a.lower())), set(WORD.findall(b.lower()))
    inter, union = len(wa & wb), len(wa | wb) or 1
    na, nb = set(NUM.findall(a)), set(NUM.findall(b))
    return [inter / union, inter / (min(len(wa), len(wb)) or 1), abs(len(wa) - len(wb)),
            float(na != nb), float(bool(na ^ nb)), float(bool(wa & NEG) != bool(wb & NEG)),
            float(len(wa ^ wb))]


def features(pairs: list[Pair], sent: dict[str, np.ndarray]) -> np.ndarray:
    u = np.stack([sent[p.a] for p in pairs])
    v = np.stack([sent[p.b] for p in pairs])
    cos = (u * v).sum(1, keepdims=True)
    lex = np.array([lexical(p.a, p.b) for p in pairs], np.float32)
    return np.concatenate([cos, np.abs(u - v), u * v, lex], axis=1)


def labels_cats(pairs: list[Pair]) -> tuple[np.ndarray, list[str]]:
    return np.array([p.label for p in pairs]), [p.category for p in pairs]


def cosine_system(vec: Mapping[str, np.ndarray], val: list[Pair], test: list[Pair],
                  target: float, trap_target: float) -> dict[str, object]:
    """The baseline ``minilm_cosine``: the cosine of each pair's unit sentence vectors
    (``vec``: text -> (384,) from ``Encoder.encode``), judged as every other system."""
    def cos(ps: list[Pair]) -> np.ndarray:
        return np.array([float(vec[p.a] @ vec[p.b]) for p in ps])

    return judge("minilm_cosine", cos(val), val, cos(test), test, target, trap_target)


def judge(name: str, val_s: np.ndarray, val: list[Pair], test_s: np.ndarray,
          test: list[Pair], target: float, trap_target: float) -> dict[str, object]:
    """Operating point on validation, read on test; plus the test-tuned @ 2% row."""
    yv, cv = labels_cats(val)
    yt, ct = labels_cats(test)
    op = operating_point(val_s, yv, cv, target, trap_target)
    c = np.asarray(ct)
    q = c == "qqp"
    traps = np.isin(c, TRAP_CATEGORIES)

    def at(t: float) -> dict[str, float]:
        return {"threshold": t, "qqp_hit_rate": rate_at(test_s[q & (yt == 1)], t),
                "qqp_false_hit_rate": rate_at(test_s[q & (yt == 0)], t),
                "trap_false_hit_rate": rate_at(test_s[traps], t),
                **{k: rate_at(test_s[c == k], t) for k in TRAP_CATEGORIES}}

    _, t2 = recall_at_fhr(test_s[q], yt[q], 0.02)
    _, v2 = recall_at_fhr(val_s[np.asarray(cv) == "qqp"], yv[np.asarray(cv) == "qqp"], 0.02)
    return {"system": name, "val_operating_point": op.to_dict(),
            "test_at_val_operating_point": at(op.threshold),
            "test_at_val_2pct_qqp_threshold": at(v2),
            "test_tuned_at_2pct": at(t2)}


def train_esim(train: list[Pair], val: list[Pair], enc: dict[str, tuple[np.ndarray, list[int]]],
               epochs: int, threads: int, seed: int = 0) -> tuple[np.ndarray, object]:
    """ESIM head over contextual states; returns (val probabilities, model)."""
    from train.cache_model import StateVerifier

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    model = StateVerifier(384, hidden=128)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    rng = random.Random(seed)
    steps = epochs * ((len(train) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps,
                                                pct_start=0.1)
    y = torch.tensor([p.label for p in train], dtype=torch.float32)
    for ep in range(epochs):
        model.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        losses = []
        for s in range(0, len(order), 128):
            idx = order[s:s + 128]
            flip = [rng.random() < 0.5 for _ in idx]
            a = [train[i].b if f else train[i].a for i, f in zip(idx, flip, strict=True)]
            b = [train[i].a if f else train[i].b for i, f in zip(idx, flip, strict=True)]
            z = model.logits_states(*pack_states([enc[t] for t in a]),
                                    *pack_states([enc[t] for t in b]))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        log.info("esim_ctx epoch %d: loss %.4f", ep + 1, float(np.mean(losses)))
    return score_esim(model, val, enc), model


def pack_states(rows: list[tuple[np.ndarray, list[int]]]
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    w = max(len(r[1]) for r in rows)
    h = np.zeros((len(rows), w, rows[0][0].shape[1]), np.float32)
    ids = np.zeros((len(rows), w), np.int64)
    for i, (s, t) in enumerate(rows):
        h[i, :len(t)] = s
        ids[i, :len(t)] = t
    return torch.from_numpy(h), torch.from_numpy(ids), torch.from_numpy((ids > 0).astype(np.int64))


@torch.inference_mode()
def score_esim(model: object, pairs: list[Pair], enc: dict[str, tuple[np.ndarray, list[int]]]
               ) -> np.ndarray:
    assert isinstance(model, torch.nn.Module)
    model.eval()
    out = []
    for s in range(0, len(pairs), 256):
        ps = pairs[s:s + 256]
        out.append(model.logits_states(*pack_states([enc[p.a] for p in ps]),  # type: ignore[operator]
                                       *pack_states([enc[p.b] for p in ps])).numpy())
    # probabilities: operating_point clips thresholds to [0, 1] (raw logits were cut at
    # 1.0 there: the first run's esim_ctx "val operating point" row is void for that)
    return sigmoid(np.concatenate(out))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m train.cache_frozen")
    ap.add_argument("--qqp", default="../shared/data/semantic_cache/qqp_pairs.jsonl")
    ap.add_argument("--out", type=Path, default=Path("runs/cache/frozen"))
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--val", type=int, default=3000)
    ap.add_argument("--test", type=int, default=3000)
    ap.add_argument("--traps-train", type=int, default=1000)
    ap.add_argument("--traps-eval", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.015)
    ap.add_argument("--trap-target", type=float, default=0.04)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    t0 = time.time()
    base = group_split(load_qqp(args.qqp), 0.15, 0.15, 0)
    sets = {"train": subsample_split(base["train"], args.train, args.traps_train, "train", 0),
            "val": subsample_split(base["val"], args.val, args.traps_eval, "val", 0),
            "test": subsample_split(base["test"], args.test, args.traps_eval, "test", 0)}
    texts = list(dict.fromkeys(t for ps in sets.values() for p in ps for t in (p.a, p.b)))
    log.info("pairs %s, %d distinct texts", {k: len(v) for k, v in sets.items()}, len(texts))
    e = Encoder(args.threads)
    t = time.time()
    states, ids, sent = e.encode(texts)
    encode_s = time.time() - t
    enc = {x: (states[i], ids[i]) for i, x in enumerate(texts)}
    vec = {x: sent[i] for i, x in enumerate(texts)}
    val, test = sets["val"], sets["test"]
    results = [cosine_system(vec, val, test, args.target, args.trap_target)]
    from sklearn.ensemble import HistGradientBoostingClassifier

    t = time.time()
    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.08, random_state=0)
    clf.fit(features(sets["train"], vec), labels_cats(sets["train"])[0])
    results.append(judge("features", clf.predict_proba(features(val, vec))[:, 1], val,
                         clf.predict_proba(features(test, vec))[:, 1], test, args.target,
                         args.trap_target) | {"fit_s": time.time() - t})
    t = time.time()
    val_s, model = train_esim(sets["train"], val, enc, args.epochs, args.threads)
    results.append(judge("esim_ctx", val_s, val, score_esim(model, test, enc), test,
                         args.target, args.trap_target) | {"fit_s": time.time() - t})
    out = {"args": {k: str(v) for k, v in vars(args).items()},
           "counts": {k: len(v) for k, v in sets.items()}, "texts": len(texts),
           "encode_s": encode_s, "texts_per_s": len(texts) / encode_s,
           "seconds": time.time() - t0, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(out, indent=1, default=float))
    for r in results:
        a, b = r["test_at_val_operating_point"], r["test_tuned_at_2pct"]
        print(f"{r['system']:14s} test@val-op: hits {a['qqp_hit_rate']:.3f} fh "  # type: ignore[index]
              f"{a['qqp_false_hit_rate']:.3f} traps {a['trap_false_hit_rate']:.3f} | "  # type: ignore[index]
              f"test-tuned@2%: hits {b['qqp_hit_rate']:.3f} traps {b['trap_false_hit_rate']:.3f}")  # type: ignore[index]


if __name__ == "__main__":
    main()
