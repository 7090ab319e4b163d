"""The cost estimate every method of the suite shares, so methods differ only in quality.

Per model, a least-squares fit of log(cost + eps) on [1, log(1 + prompt characters)] over
the training requests (cost grows with the prompt; completions vary around it). Methods
then differ only in the quality they predict, which is what the suite compares.
"""

from __future__ import annotations

from typing import Self

import numpy as np

EPS = 1e-9


class LogLinearCost:
    """cost(x, m) = exp(a_m + b_m log(1 + chars(x))) - eps, fitted per model."""

    def fit(self, texts: list[str], cost: np.ndarray) -> Self:
        """texts (n,), cost (n, M) observed."""
        A = self._design(texts)
        y = np.log(np.maximum(cost, 0.0) + EPS)
        self.coef_ = np.linalg.lstsq(A, y, rcond=None)[0]  # (2, M)
        return self

    @staticmethod
    def _design(texts: list[str]) -> np.ndarray:
        chars = np.array([len(t) for t in texts], dtype=np.float64)
        return np.stack([np.ones_like(chars), np.log1p(chars)], axis=1)

    def predict(self, texts: list[str]) -> np.ndarray:
        """(n, M) predicted cost in USD."""
        return np.maximum(np.exp(self._design(texts) @ self.coef_) - EPS, 0.0)
