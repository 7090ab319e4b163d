"""Cross-fitted reward model q_hat(x, a) for the direct-method and doubly robust estimators.

One ridge regression per action on the query features, fitted on the rounds where that
action was logged. Cross-fitting (K folds, as OBP's ``RegressionModel``) keeps each
round's prediction out of its own training fold, so DR stays honest.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge


def fit_predict_rewards(
    X: np.ndarray,
    action: np.ndarray,
    reward: np.ndarray,
    n_actions: int,
    n_folds: int = 2,
    alpha: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold predicted reward of every action for every round.

    Args:
        X: (n, d) features. action: (n,) int. reward: (n,) float.
        n_actions: M. n_folds: >= 2 for cross-fitting (1 = in-sample).

    Returns:
        (n, M) float64. An action with fewer than 2 training rounds in a fold is
        predicted by that fold's mean reward.
    """
    n = len(action)
    fold = np.random.default_rng(seed).permutation(n) % max(n_folds, 1)
    out = np.empty((n, n_actions))
    for k in range(max(n_folds, 1)):
        test = fold == k
        train = ~test if n_folds > 1 else np.ones(n, dtype=bool)
        out[test] = _fit_fold(X[train], action[train], reward[train], X[test], n_actions, alpha)
    return out


def _fit_fold(
    X: np.ndarray, a: np.ndarray, r: np.ndarray, X_test: np.ndarray, M: int, alpha: float
) -> np.ndarray:
    """(n_test, M) predictions from per-action ridge fits on one training fold."""
    base = float(np.mean(r)) if len(r) else 0.0
    pred = np.full((len(X_test), M), base)
    for m in range(M):
        rows = a == m
        if rows.sum() >= 2:
            model = Ridge(alpha=alpha).fit(X[rows], r[rows])
            pred[:, m] = model.predict(X_test)
        elif rows.any():
            pred[:, m] = float(r[rows].mean())
    return pred
