"""The multi-dataset routing-quality suite (``lmroute eval suite``).

Trains and evaluates the router and the strongest simple baselines on RouterBench,
RouteLLM (MMLU + GSM8K) and DC-Router over seeded, stratified, leak-free splits, and writes
one report. See docs/routing.md.
"""
