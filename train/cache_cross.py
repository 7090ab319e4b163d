"""An experiment on the hit decision: all-MiniLM-L6-v2 fine-tuned as a CROSS-encoder.

``python -m train.cache_cross --out runs/cache/cross [--train 20000 --epochs 1]``

The frozen-encoder heads (``train.cache_frozen``) match the plain cosine on QQP; a
cross-encoder reads both questions in one sequence (``[CLS] a [SEP] b [SEP]``), so every
layer attends across the pair, which is what separates QQP's hard negatives (same topic,
many shared words). The model, the tokenization and the
training loop are the pipeline's (``lmroute cache train cache_train/model@model=cross``):
``train.cache_cross_model.CrossVerifier`` (the whole MiniLM, 6 layers, 22M parameters, a
linear head on the masked mean of its last layer), ``train.cache_fit.encode_pairs``
(each text ``[CLS] ... [SEP]``, at most ``--max-tokens`` ids, keep-tail) and
``train.cache_fit.fit`` (BCE, AdamW, one-cycle schedule, the pair order flipped at
random, the epoch kept by the pipeline's validation score). Scored one order
(``cross``) and as the mean logit over both orders (``cross_sym``).

Data exactly as ``train.cache_frozen`` (QQP split by connected group 0.15 / 0.15, seed 0,
then subsampled; traps from each subsample's own questions), and the same ``judge``:
operating point chosen on validation (<= ``--target`` QQP false hits, <= ``--trap-target``
per trap category), read on test; the MiniLM cosine baseline on the same pairs. Writes
``OUT/results.json`` and the fine-tuned weights ``OUT/cross.pt`` (for an ONNX export).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from train.cache_cross_model import CrossVerifier
from train.cache_data import Pair, group_split, load_qqp
from train.cache_fit import Encoded, FitConf, encode_pairs, fit, predict_logits
from train.cache_frozen import Encoder, cosine_system, judge, subsample_split
from train.cache_pipeline import val_score

log = logging.getLogger("train.cache_cross")


def swapped(data: Encoded) -> Encoded:
    """The same pairs with ``a`` and ``b`` exchanged."""
    return Encoded(data.b, data.a, data.labels, data.categories)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m train.cache_cross")
    ap.add_argument("--qqp", default="../shared/data/semantic_cache/qqp_pairs.jsonl")
    ap.add_argument("--out", type=Path, default=Path("runs/cache/cross"))
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--val", type=int, default=4000)
    ap.add_argument("--test", type=int, default=0, help="0 = the whole test split")
    ap.add_argument("--traps-train", type=int, default=1000)
    ap.add_argument("--traps-eval", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=0.015)
    ap.add_argument("--trap-target", type=float, default=0.04)
    ap.add_argument("--load", type=Path, default=None,
                    help="cross.pt of an earlier run: skip the fine-tune, score only")
    ap.add_argument("--audit", type=int, default=40,
                    help="write the N highest-scored validation non-duplicates to "
                         "OUT/top_negatives.jsonl (for reading by eye: label noise)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    base = group_split(load_qqp(args.qqp), 0.15, 0.15, 0)
    sets = {"train": subsample_split(base["train"], args.train, args.traps_train, "train", 0),
            "val": subsample_split(base["val"], args.val, args.traps_eval, "val", 0),
            "test": subsample_split(base["test"], args.test, args.traps_eval, "test", 0)}
    log.info("pairs %s", {k: len(v) for k, v in sets.items()})
    val, test = sets["val"], sets["test"]
    results = [minilm_baseline(val, test, args)]
    from router_model.tokenization import load_tokenizer

    tok = load_tokenizer(512)
    tok.no_padding()
    enc = {k: encode_pairs(tok, v, args.max_tokens) for k, v in sets.items()}
    model = CrossVerifier()
    t = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.load:  # an earlier run's weights (strict=False: the calibration pair is new)
        model.load_state_dict(torch.load(args.load), strict=False)
    else:
        conf = FitConf(epochs=args.epochs, batch_size=args.batch, lr=args.lr, table_lr=0.0,
                       weight_decay=0.01, threads=args.threads, seed=args.seed,
                       clip_grad_norm=1.0)
        fit(model, enc["train"], enc["val"], conf, val_score(args.target, args.trap_target))
        torch.save(model.state_dict(), args.out / "cross.pt")
    fit_s = time.time() - t
    t = time.time()
    sv = {swap: predict_logits(model, swapped(enc["val"]) if swap else enc["val"], 64)
          for swap in (False, True)}
    st = {swap: predict_logits(model, swapped(enc["test"]) if swap else enc["test"], 64)
          for swap in (False, True)}
    score_s = time.time() - t
    results.append(judge("cross", sv[False], val, st[False], test, args.target,
                         args.trap_target) | {"fit_s": fit_s})
    results.append(judge("cross_sym", (sv[False] + sv[True]) / 2, val,
                         (st[False] + st[True]) / 2, test, args.target, args.trap_target))
    write_audit(args.out / "top_negatives.jsonl", val, sv[False], args.audit)
    n_scored = 2 * (len(val) + len(test))
    out = {"args": {k: str(v) for k, v in vars(args).items()},
           "counts": {k: len(v) for k, v in sets.items()}, "seconds": time.time() - t0,
           "score_pairs_per_s": n_scored / score_s, "results": results}
    (args.out / "results.json").write_text(json.dumps(out, indent=1, default=float))
    for r in results:
        a, b = r["test_at_val_operating_point"], r["test_tuned_at_2pct"]
        log.info("%-14s test@val-op: hits %.3f fh %.3f traps %.3f | test-tuned@2%%: hits "
                 "%.3f traps %.3f", r["system"], a["qqp_hit_rate"],  # type: ignore[index]
                 a["qqp_false_hit_rate"], a["trap_false_hit_rate"],  # type: ignore[index]
                 b["qqp_hit_rate"], b["trap_false_hit_rate"])  # type: ignore[index]


def write_audit(path: Path, pairs: list[Pair], scores: np.ndarray, n: int) -> None:
    """The ``n`` highest-scored QQP non-duplicates, one JSON line each (``score``: the
    uncalibrated logit, ``a``, ``b``)."""
    neg = [i for i, p in enumerate(pairs) if p.label == 0 and p.category == "qqp"]
    top = sorted(neg, key=lambda i: -scores[i])[:n]
    path.write_text("".join(json.dumps({"score": round(float(scores[i]), 4), "a": pairs[i].a,
                                        "b": pairs[i].b}) + "\n" for i in top))


def minilm_baseline(val: list[Pair], test: list[Pair], args: argparse.Namespace
                    ) -> dict[str, object]:
    """The plain MiniLM cosine on the same pairs (frozen mean-pooled sentence vectors)."""
    texts = list(dict.fromkeys(t for ps in (val, test) for p in ps for t in (p.a, p.b)))
    _, _, sent = Encoder(args.threads).encode(texts)
    vec = {x: sent[i] for i, x in enumerate(texts)}
    return cosine_system(vec, val, test, args.target, args.trap_target)


if __name__ == "__main__":
    main()
