"""Conversation memory: a sliding window plus hierarchical summaries, auditable,
reversible and verifiably forgettable (issue #13; docs/memory.md).

    store.py / sqlite_*.py   messages, summaries, versions (MVCC intervals), TTL
    audit.py                 the append-only, hash-chained audit log (keyed hashes only)
    planner.py               which summaries the history needs (content-defined chunks)
    summarizers/             stub | extractive | llm, behind one interface + registry
    compaction.py            computes the plan's missing summaries, in the background
    erasure.py / verify.py   erase + recompute + tombstone + purge, then a verification scan
    tokens.py / retrieval.py / assemble.py   context within a token budget
    service.py               the facade the CLI, the benchmarks and the gateway stage use
"""
