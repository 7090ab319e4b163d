"""Evaluation of a router on held-out traffic: replay on full-information logs,
cost-quality curves (AIQ, APGR, CPT), off-policy estimates on bandit logs, the deploy
gate, and the report. The math modules (bootstrap, replay, curves, ope, gate) take numpy
arrays and dataclasses only; I/O lives in ``eval.cli``, ``eval.report`` and ``eval.plots``.
"""
