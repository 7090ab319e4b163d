"""The guard's character n-gram scorer: idf-weighted hashed n-grams + logistic regression.

``NgramLogReg.fit`` learns, on the training texts' hashed n-grams
(``router_model.guard.char_ngrams``), a smoothed idf per bucket and one balanced
logistic regression per category (its ``C`` picked by validation AUC from the
grid ``C_GRID``, which the TF-IDF baseline shares: ``pick_logreg``). ``to_onnx``
writes the same scorer as
a small graph: inputs ``ngram_ids`` (K, M) int64 and ``ngram_tf`` (K, M) float, output
``ngram_scores`` (K, C) probabilities, computed as

    v = tf * idf[ids];  u = v / max(||v||_2, eps);  p = sigmoid(u @ W[ids] + b)

which is sklearn's ``predict_proba`` on the l2-normalised tf-idf row (a parity test
holds them together).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import normalize

from router_model.export import OPSET
from router_model.guard.char_ngrams import BUCKETS, N_RANGE, check_buckets, text_matrix

log = logging.getLogger(__name__)
C_GRID = (0.3, 1.0, 3.0, 10.0)  # also the TF-IDF baseline's grid (eval.guard_baseline)
INPUTS = ("ngram_ids", "ngram_tf")
OUTPUT = "ngram_scores"


def pick_logreg(x: Any, y: np.ndarray, xv: Any, yv: np.ndarray, c_grid: Sequence[float]
                ) -> tuple[LogisticRegression, float, float]:
    """One category: the balanced logistic regression on rows ``x`` (n, d) with labels
    ``y`` (n,) in {1, 0, -1} (-1 left out) whose ``C`` in ``c_grid`` has the best AUC on
    ``xv`` / ``yv``; returns (model, C, validation AUC)."""
    keep, vkeep = y >= 0, yv >= 0
    best: tuple[float, float, LogisticRegression] | None = None
    for c in c_grid:
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        lr.fit(x[keep], y[keep])
        auc = float(roc_auc_score(yv[vkeep], lr.predict_proba(xv[vkeep])[:, 1]))
        if best is None or auc > best[0]:
            best = (auc, c, lr)
    if best is None:
        raise ValueError("pick_logreg: empty c_grid")
    return best[2], best[1], best[0]


@dataclass
class NgramLogReg:
    """sklearn-style estimator: ``fit`` returns self; fitted state ends in ``_``."""

    n_range: tuple[int, int] = N_RANGE
    buckets: int = BUCKETS
    c_grid: Sequence[float] = C_GRID
    idf_: np.ndarray | None = None  # (buckets,)
    coef_: np.ndarray | None = None  # (C, buckets)
    intercept_: np.ndarray | None = None  # (C,)
    c_: list[float] = field(default_factory=list)
    val_auc_: list[float] = field(default_factory=list)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(n, buckets) l2-normalised tf-idf rows."""
        if self.idf_ is None:
            raise RuntimeError("NgramLogReg: fit first")
        x = text_matrix(texts, self.n_range, self.buckets) @ sp.diags(self.idf_)
        return normalize(x.tocsr(), norm="l2", copy=False)

    def fit(self, texts: Sequence[str], labels: np.ndarray, val_texts: Sequence[str],
            val_labels: np.ndarray) -> NgramLogReg:
        """texts (n,), labels (n, C) in {1, 0, -1} (-1: unknown, left out); validation
        texts and labels pick ``C`` per category."""
        check_buckets(self.buckets)
        tf = text_matrix(texts, self.n_range, self.buckets)
        df = np.bincount(tf.indices, minlength=self.buckets)
        self.idf_ = (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0).astype(np.float32)
        x, xv = self.transform(texts), self.transform(val_texts)
        coefs, icepts, self.c_, self.val_auc_ = [], [], [], []
        for j in range(labels.shape[1]):
            lr, c, auc = pick_logreg(x, labels[:, j], xv, val_labels[:, j], self.c_grid)
            log.info("n-gram scorer, category %d: C=%g (val AUC %.4f)", j, c, auc)
            coefs.append(lr.coef_[0])
            icepts.append(lr.intercept_[0])
            self.c_.append(c)
            self.val_auc_.append(auc)
        self.coef_ = np.array(coefs, dtype=np.float32)
        self.intercept_ = np.array(icepts, dtype=np.float32)
        return self

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, C) probabilities, one row per whole text."""
        if self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("NgramLogReg: fit first")
        z = self.transform(texts) @ self.coef_.T.astype(np.float64) + self.intercept_
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_onnx(self) -> onnx.ModelProto:
        """The scorer as an ONNX graph (see module docstring)."""
        if self.idf_ is None or self.coef_ is None or self.intercept_ is None:
            raise RuntimeError("NgramLogReg: fit first")
        n_cat = self.coef_.shape[0]
        inits = [numpy_helper.from_array(self.idf_, "idf"),
                 numpy_helper.from_array(np.ascontiguousarray(self.coef_.T), "W"),
                 numpy_helper.from_array(self.intercept_, "b"),
                 numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
                 numpy_helper.from_array(np.array([1e-12], dtype=np.float32), "eps")]
        mk = helper.make_node
        nodes = [mk("Gather", ["idf", "ngram_ids"], ["idf_g"]),
                 mk("Mul", ["ngram_tf", "idf_g"], ["v"]),
                 mk("Mul", ["v", "v"], ["v2"]),
                 mk("ReduceSum", ["v2", "axis1"], ["ss"], keepdims=1),
                 mk("Sqrt", ["ss"], ["norm0"]),
                 mk("Max", ["norm0", "eps"], ["norm"]),
                 mk("Div", ["v", "norm"], ["u"]),
                 mk("Unsqueeze", ["u", "axis1"], ["u3"]),  # (K, 1, M)
                 mk("Gather", ["W", "ngram_ids"], ["w_g"]),  # (K, M, C)
                 mk("MatMul", ["u3", "w_g"], ["z3"]),  # (K, 1, C)
                 mk("Squeeze", ["z3", "axis1"], ["z"]),
                 mk("Add", ["z", "b"], ["logit"]),
                 mk("Sigmoid", ["logit"], [OUTPUT])]
        graph = helper.make_graph(
            nodes, "guard_ngrams",
            [helper.make_tensor_value_info("ngram_ids", TensorProto.INT64, ["K", "M"]),
             helper.make_tensor_value_info("ngram_tf", TensorProto.FLOAT, ["K", "M"])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["K", n_cat])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        onnx.checker.check_model(model)
        return model

    def info(self) -> dict[str, object]:
        """What the manifest records about this scorer."""
        return {"n_range": list(self.n_range), "buckets": self.buckets, "C": self.c_,
                "val_auc": self.val_auc_, "hash": "rolling polynomial over code points "
                "(router_model.guard.char_ngrams)", "tf": "1 + log(count)", "idf": "smooth"}
