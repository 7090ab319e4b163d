"""The semantic cache in ``make demo``: the same question twice (the second answered from
the cache, no model call), then a paraphrase, each plain and streamed, through the
official ``openai`` client. Prints what the gateway said about each (x-lmroute-cache,
tier, similarity, who answered) and writes it to ``out/cache_demo.json``.

``SERVE_OVERRIDES`` switch the cache on for ``lmroute serve``: the semantic tier with the
learned verifier when ``runs/cache/verifier`` exists (``lmroute cache train``), else with
a cosine threshold on the router's features (the demo then says so).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

VERIFIER = Path("runs/cache/verifier")
COSINE_FALLBACK = 0.9
SERVE_OVERRIDES: list[str] = ["cache=semantic"] + (
    [] if (VERIFIER / "manifest.json").is_file() else
    ["cache.stage.decision.kind=cosine", f"cache.stage.decision.threshold={COSINE_FALLBACK}"])

QUESTION = "What is the capital city of France?"
PARAPHRASE = "Can you tell me: what is the capital city of France?"
CACHE_HEADERS = ("x-lmroute-cache", "x-lmroute-cache-tier", "x-lmroute-cache-similarity",
                 "x-lmroute-backend")


def _plain(client: Any, text: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    raw = client.chat.completions.with_raw_response.create(
        model="lmroute/auto", max_tokens=24,
        messages=[{"role": "user", "content": text}])
    answer = raw.parse().choices[0].message.content or ""
    return {"headers": {h: raw.headers.get(h, "") for h in CACHE_HEADERS},
            "answer": answer, "ms": (time.perf_counter() - t0) * 1e3}


def _streamed(client: Any, text: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    with client.chat.completions.with_streaming_response.create(
            model="lmroute/auto", max_tokens=24, stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": text}]) as resp:
        headers = {h: resp.headers.get(h, "") for h in CACHE_HEADERS}
        parts, usage = [], None
        for chunk in resp.parse():
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
            if chunk.usage is not None:
                usage = chunk.usage.model_dump()
    return {"headers": headers, "answer": "".join(parts), "usage": usage,
            "ms": (time.perf_counter() - t0) * 1e3}


def demo(url: str, out: Path, console: Any) -> None:
    """Run the requests against the gateway at ``url`` (cache on) and report them."""
    import openai
    from rich.table import Table

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="demo", max_retries=0)
    steps = [("plain", "question", QUESTION), ("plain", "same question", QUESTION),
             ("plain", "paraphrase", PARAPHRASE), ("streamed", "question", QUESTION + " "),
             ("streamed", "same question", QUESTION + " "),
             ("streamed", "paraphrase", PARAPHRASE + " ")]
    # streamed texts end with a space: whitespace is normalised away, so they share the
    # plain requests' entry; the first streamed request is therefore already a hit
    rows = []
    for mode, what, text in steps:
        r = (_plain if mode == "plain" else _streamed)(client, text)
        rows.append({"mode": mode, "request": what, "text": text, **r})
    table = Table(title="semantic cache" + ("" if not SERVE_OVERRIDES[1:] else
                                            f" (cosine >= {COSINE_FALLBACK} on router "
                                            "features: no verifier artifact)"))
    for col in ("mode", "request", "x-lmroute-cache", "tier", "similarity", "answered by",
                "ms", "answer"):
        table.add_column(col)
    for r in rows:
        h = r["headers"]
        table.add_row(r["mode"], r["request"], h["x-lmroute-cache"],
                      h["x-lmroute-cache-tier"], h["x-lmroute-cache-similarity"],
                      h["x-lmroute-backend"] or "(cache)", f"{r['ms']:.0f}",
                      r["answer"][:40].replace("\n", " "))
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cache_demo.json").write_text(json.dumps(rows, indent=2))
    second = rows[1]["headers"]["x-lmroute-cache"]
    if second != "hit":
        console.print(f"[red]the repeated question was not a cache hit ({second!r})")
