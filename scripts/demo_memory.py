"""Conversation memory in ``make demo``: a short multi-turn conversation through the
official ``openai`` client (one turn streamed), each turn naming its session with the
``x-lmroute-session`` header, then the erasure of the first message with its receipt
(summaries recomputed, versions rewritten, the verification scan of every store and of
the database file's raw bytes). Writes everything to ``out/memory_demo.json``.

``SERVE_OVERRIDES`` switch the memory on for ``lmroute serve`` (extractive summaries,
SQLite under runs/demo/).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

SERVE_OVERRIDES: list[str] = ["memory=sqlite", "memory.stage.db_path=runs/demo/memory.sqlite"]

TURNS = [
    "Hi! My name is Ada and my greyhound is called Pixel.",
    "I moved to Lisbon last spring and I teach violin there.",
    "What is the name of my dog, and where do I live?",
]


def _turn(client: Any, text: str, stream: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    msgs = [{"role": "user", "content": text}]
    if stream:
        with client.chat.completions.with_streaming_response.create(
                model="lmroute/auto", max_tokens=32, stream=True, messages=msgs) as resp:
            header = resp.headers.get("x-lmroute-memory", "")
            answer = "".join(c.choices[0].delta.content or ""
                             for c in resp.parse() if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="lmroute/auto", max_tokens=32, messages=msgs)
        header = raw.headers.get("x-lmroute-memory", "")
        answer = raw.parse().choices[0].message.content or ""
    return {"user": text, "stream": stream, "x-lmroute-memory": header, "answer": answer,
            "ms": round((time.perf_counter() - t0) * 1e3, 1)}


def _show_receipt(console: Any, receipt: dict[str, Any]) -> None:
    v = receipt.get("verification") or {}
    console.print(f"erased {receipt['erased_ids']} ({receipt['scope']}, reason "
                  f"{receipt['reason']!r}) in {receipt['seconds'] * 1e3:.0f} ms")
    console.print(f"  summaries recomputed: {len(receipt['recomputed'])}, versions "
                  f"rewritten: {len(receipt['versions_rewritten'])}, index entries purged: "
                  f"{receipt['index_entries_purged']}")
    for s in v.get("stores", []):
        console.print(f"  scan {s['store']:<28} {s['scanned']:>9} {s['unit']:<6} "
                      f"hits {s['hits']}")
    ok = receipt.get("verified_clean")
    console.print(f"  verified clean: {'[green]yes' if ok else '[red]NO'}[/] "
                  f"({v.get('ngrams', 0)} distinctive n-grams); audit entry "
                  f"{receipt['audit_seq']} head {receipt['audit_head'][:16]}...")
    for note in receipt.get("remains", []):
        console.print(f"  [dim]remains: {note}")


def demo(url: str, out: Path, console: Any) -> None:
    """Talk to the gateway at ``url`` (memory on), then erase the first message."""
    import httpx
    import openai

    session = f"demo-{int(time.time())}"
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="demo", max_retries=0,
                           default_headers={"x-lmroute-session": session})
    console.rule(f"[bold]memory: a conversation in session {session}", align="left")
    turns = []
    for i, text in enumerate(TURNS):
        t = _turn(client, text, stream=(i == 1))
        turns.append(t)
        console.print(f"[bold]user:[/] {text}\n  [dim]x-lmroute-memory: "
                      f"{t['x-lmroute-memory']}[/]\n  [bold]answer:[/] "
                      f"{t['answer'][:120]!r}")
    base = f"{url}/v1/memory/sessions/{session}"
    state = httpx.get(base, timeout=30)
    doc: dict[str, Any] = {"session": session, "turns": turns}
    if state.status_code != 200:
        console.print(f"[red]GET {base}: HTTP {state.status_code} {state.text[:200]}")
        _save(out, doc)
        return
    messages = state.json()["messages"]
    console.print(f"stored: {len(messages)} messages, version {state.json()['version']}")
    first = messages[0]["id"]
    console.rule("[bold]memory: erase the first message (GDPR request)", align="left")
    r = httpx.post(f"{base}/erase", json={"message_ids": [first], "reason": "user request"},
                   timeout=120)
    doc["erase_status"] = r.status_code
    if r.status_code == 200:
        doc["receipt"] = r.json()
        _show_receipt(console, doc["receipt"])
        after = httpx.get(base, timeout=30).json()
        still = [m["id"] for m in after["messages"] if "Pixel" in m["content"]]
        doc["pixel_after_erasure"] = bool(still) or "Pixel" in json.dumps(after["summaries"])
        console.print(f"'Pixel' in the session after the erasure: "
                      f"{doc['pixel_after_erasure']}" + (
                          f" (other messages repeat it: {still}; erase them too)"
                          if still else ""))
    else:
        console.print(f"[red]erase: HTTP {r.status_code} {r.text[:200]}")
    _save(out, doc)


def _save(out: Path, doc: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory_demo.json").write_text(json.dumps(doc, indent=2))
