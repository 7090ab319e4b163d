"""The baseline the learned guard must beat: character n-gram TF-IDF + logistic regression.

One TF-IDF (``char_wb`` 2-5-grams, sublinear tf) and one balanced logistic regression per
category, fitted on the same training texts and labels as the guard (unknown labels left
out), the regularisation ``C`` picked by validation AUC. It reads the raw text: no
normaliser, no windows (that is what makes it the simple baseline).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from router_model.guard.ngram_model import C_GRID, pick_logreg

log = logging.getLogger(__name__)


@dataclass
class TfidfLogReg:
    """sklearn-style: ``fit`` returns self; fitted state ends in ``_``."""

    ngram_range: tuple[int, int] = (2, 5)
    max_features: int = 300_000
    c_grid: Sequence[float] = C_GRID
    vectorizer_: TfidfVectorizer | None = None
    models_: list[LogisticRegression] = field(default_factory=list)
    c_: list[float] = field(default_factory=list)

    def fit(self, texts: Sequence[str], labels: np.ndarray, val_texts: Sequence[str],
            val_labels: np.ndarray) -> TfidfLogReg:
        """texts (n,), labels (n, C) in {1, 0, -1}; validation for picking C."""
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                           sublinear_tf=True, min_df=2,
                                           max_features=self.max_features)
        x = self.vectorizer_.fit_transform(texts)
        xv = self.vectorizer_.transform(val_texts)
        self.models_, self.c_ = [], []
        for j in range(labels.shape[1]):
            lr, c, auc = pick_logreg(x, labels[:, j], xv, val_labels[:, j], self.c_grid)
            log.info("baseline category %d: C=%g (val AUC %.4f)", j, c, auc)
            self.models_.append(lr)
            self.c_.append(c)
        return self

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, C) probabilities."""
        if self.vectorizer_ is None:
            raise RuntimeError("TfidfLogReg: fit first")
        x = self.vectorizer_.transform(texts)
        return np.stack([m.predict_proba(x)[:, 1] for m in self.models_], axis=1)
