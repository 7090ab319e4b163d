"""An experiment on the hit decision: all-MiniLM-L6-v2 fine-tuned as a CROSS-encoder.

``python -m train.cache_cross --out runs/cache/cross [--train 20000 --epochs 1]``

The frozen-encoder heads (``train.cache_frozen``) match the plain cosine on QQP; a
cross-encoder reads both questions in one sequence (``[CLS] a [SEP] b [SEP]``), so every
layer attends across the pair, which is what separates QQP's hard negatives (same topic,
many shared words). This fine-tunes the whole MiniLM (6 layers, 22M parameters) with a
linear head on the masked mean of its last layer, BCE, AdamW with linear warm-up/decay,
the pair order flipped at random (the score of a pair is the mean over both orders at
evaluation: ``cross_sym``; one order: ``cross``).

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
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from train.cache_data import Pair, group_split, load_qqp
from train.cache_frozen import Encoder, judge, subsample_split
from train.cache_model import SPECIAL_IDS

log = logging.getLogger("train.cache_cross")


class CrossEncoder(nn.Module):
    """MiniLM over the pair's one sequence -> (B,) logit of "one answer serves both"."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import AutoModel

        from router_model.tokenization import source_model_dir

        self.encoder = AutoModel.from_pretrained(str(source_model_dir()),
                                                 attn_implementation="eager")
        self.head = nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 each -> (B,) logits."""
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


class PairTokenizer:
    """Pairs of texts -> padded (input_ids, attention_mask, token_type_ids), each text
    cut to ``max_tokens`` // 2 word pieces from its start."""

    def __init__(self, max_tokens: int = 128) -> None:
        from router_model.tokenization import load_tokenizer

        self.tok = load_tokenizer(512)
        self.tok.no_padding()
        self.half = max_tokens // 2
        _, self.cls, self.sep = SPECIAL_IDS  # [PAD] [CLS] [SEP]
        self._memo: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        got = self._memo.get(text)
        if got is None:
            got = self._memo[text] = self.tok.encode(text, add_special_tokens=False).ids
        return got[:self.half]

    def __call__(self, a: list[str], b: list[str]
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = [([self.cls, *self.ids(x), self.sep], [*self.ids(y), self.sep])
                for x, y in zip(a, b, strict=True)]
        w = max(len(p) + len(q) for p, q in rows)
        ids = np.zeros((len(rows), w), np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, (p, q) in enumerate(rows):
            n = len(p) + len(q)
            ids[i, :n] = p + q
            mask[i, :n] = 1
            types[i, len(p):n] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)


def train(model: CrossEncoder, tok: PairTokenizer, pairs: list[Pair], epochs: int,
          batch: int, lr: float, seed: int) -> None:
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch - 1) // batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    y = torch.tensor([p.label for p in pairs], dtype=torch.float32)
    done, t0 = 0, time.time()
    for ep in range(epochs):
        model.train()
        order = list(range(len(pairs)))
        rng.shuffle(order)
        losses: list[float] = []
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            flip = [rng.random() < 0.5 for _ in idx]
            a = [pairs[i].b if f else pairs[i].a for i, f in zip(idx, flip, strict=True)]
            b = [pairs[i].a if f else pairs[i].b for i, f in zip(idx, flip, strict=True)]
            loss = nn.functional.binary_cross_entropy_with_logits(model(*tok(a, b)), y[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            done += len(idx)
            if (s // batch) % 50 == 0:
                log.info("epoch %d: %d/%d pairs, loss %.4f (%.1f pairs/s)", ep + 1, s + len(idx),
                         len(pairs), float(np.mean(losses[-50:])),
                         done / max(time.time() - t0, 1e-9))
        log.info("epoch %d done: mean loss %.4f", ep + 1, float(np.mean(losses)))


@torch.inference_mode()
def score(model: CrossEncoder, tok: PairTokenizer, pairs: list[Pair], swap: bool,
          batch: int = 64) -> np.ndarray:
    """(n,) probabilities, the pairs in length order for less padding."""
    model.eval()
    order = np.argsort([len(p.a) + len(p.b) for p in pairs], kind="stable")
    out = np.zeros(len(pairs), np.float64)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        a = [pairs[i].b if swap else pairs[i].a for i in idx]
        b = [pairs[i].a if swap else pairs[i].b for i in idx]
        out[idx] = torch.sigmoid(model(*tok(a, b))).numpy()
    return out


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
    model, tok = CrossEncoder(), PairTokenizer()
    t = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    else:
        train(model, tok, sets["train"], args.epochs, args.batch, args.lr, args.seed)
        torch.save(model.state_dict(), args.out / "cross.pt")
    fit_s = time.time() - t
    t = time.time()
    sv = {swap: score(model, tok, val, swap) for swap in (False, True)}
    st = {swap: score(model, tok, test, swap) for swap in (False, True)}
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
    """The ``n`` highest-scored QQP non-duplicates, one JSON line each (score, a, b)."""
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

    def cos(ps: list[Pair]) -> np.ndarray:
        return np.array([float(vec[p.a] @ vec[p.b]) for p in ps])

    return judge("minilm_cosine", cos(val), val, cos(test), test, args.target,
                 args.trap_target)


if __name__ == "__main__":
    main()
