"""``lmroute memory ...`` (thin: flags in, the service called, JSON out).

    build IN.jsonl --out DIR [--summarizer stub|extractive|llm] [--budget-tokens N]
    context DIR --session S --query TEXT --budget-tokens N     (prints the messages, JSON)
    eval --data PATH [...]                                     (eval/memory_cli.py)
    state DIR --session S [--version V]      versions DIR --session S
    rollback DIR --session S --version V --reason R
    erase DIR --session S (--message ID [--message ID ...] | --all) --reason R
    audit DIR [--session S]                  ttl DIR --session S --seconds X [--message ID]
    sweep DIR                                 (erase what has expired now)

A memory directory is what ``build`` writes (memory.sqlite, its key, memory.json). Bad
input: one line naming the problem, exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serve.memory.errors import MemoryError_
from serve.memory.types import to_dict

if TYPE_CHECKING:
    from serve.memory.service import MemoryService

log = logging.getLogger(__name__)


def _dump(obj: Any) -> None:
    print(json.dumps(to_dict(obj), indent=2, ensure_ascii=False))


def _service(directory: str) -> MemoryService:
    from serve.memory.build import load_config
    from serve.memory.service import build_service

    return build_service(load_config(Path(directory)))


def cmd_build(a: argparse.Namespace) -> int:
    from serve.memory.build import DB, dir_config, replay, save_manifest
    from serve.memory.jsonl import read_messages
    from serve.memory.service import build_service

    rows = read_messages(Path(a.input))
    out = Path(a.out)
    if (out / DB).exists():
        raise MemoryError_(f"--out {out}: already holds a memory ({DB}); choose another "
                           "directory")
    out.mkdir(parents=True, exist_ok=True)
    cfg = dir_config(out, a.summarizer, a.budget_tokens)
    svc = build_service(cfg)
    try:
        report = replay(svc, rows, progress=sys.stderr.isatty())
    finally:
        svc.close()
    save_manifest(out, cfg, report)
    _dump({"out": str(out), "summarizer": a.summarizer, "budget_tokens": a.budget_tokens,
           **to_dict(report)})
    return 0


def cmd_context(a: argparse.Namespace) -> int:
    from serve.memory.build import OWNER

    svc = _service(a.dir)
    try:
        svc.store.head_version(OWNER, a.session)  # an unknown session is an error here
        res = svc.context(OWNER, a.session, a.query, a.budget_tokens)
    finally:
        svc.close()
    print(json.dumps([{"role": m.role, "content": m.content} for m in res.messages],
                     ensure_ascii=False, indent=2))
    return 0


def _with_service(fn: Callable[[Any, argparse.Namespace], Any]) -> Callable[..., int]:
    def run(a: argparse.Namespace) -> int:
        svc = _service(a.dir)
        try:
            _dump(fn(svc, a))
        finally:
            svc.close()
        return 0
    return run


def _state(svc: Any, a: argparse.Namespace) -> Any:
    return svc.state(a.owner, a.session, a.version)


def _versions(svc: Any, a: argparse.Namespace) -> Any:
    return svc.versions(a.owner, a.session)


def _rollback(svc: Any, a: argparse.Namespace) -> Any:
    return svc.rollback(a.owner, a.session, a.version, a.reason)


def _erase(svc: Any, a: argparse.Namespace) -> Any:
    if bool(a.message) == bool(a.all):
        raise MemoryError_("erase: give --message ID (one or more) or --all, not both")
    return svc.erase(a.owner, a.session, None if a.all else a.message, a.reason).to_json()


def _audit(svc: Any, a: argparse.Namespace) -> Any:
    entries, report = svc.audit(a.owner, a.session)
    return {"verification": report, "entries": entries}


def _ttl(svc: Any, a: argparse.Namespace) -> Any:
    return {"expires_at": svc.set_ttl(a.owner, a.session, a.seconds, a.message)}


def _sweep(svc: Any, a: argparse.Namespace) -> Any:
    return [r.to_json() for r in svc.sweep()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmroute memory", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="replay a JSONL message log into a memory directory")
    b.add_argument("input", metavar="IN.jsonl")
    b.add_argument("--out", required=True, metavar="DIR")
    b.add_argument("--summarizer", default="extractive", choices=["stub", "extractive", "llm"])
    b.add_argument("--budget-tokens", type=int, default=1024, metavar="N")
    b.set_defaults(fn=cmd_build)
    c = sub.add_parser("context", help="the messages memory would send with a query (JSON)")
    c.add_argument("dir", metavar="DIR")
    c.add_argument("--session", required=True)
    c.add_argument("--query", required=True)
    c.add_argument("--budget-tokens", type=int, required=True, metavar="N")
    c.set_defaults(fn=cmd_context)
    e = sub.add_parser("eval", help="answer-word recall on LoCoMo (eval/memory_cli.py)",
                       add_help=False)
    e.set_defaults(fn=None)
    _admin(sub)
    return p


def _admin(sub: Any) -> None:
    def add(name: str, fn: Callable[[Any, argparse.Namespace], Any], help_: str,
            session: bool = True) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_)
        q.add_argument("dir", metavar="DIR")
        q.add_argument("--session", required=session, default=None)
        q.add_argument("--owner", default="local", help="API key id (default: local)")
        q.set_defaults(fn=_with_service(fn))
        return q

    add("state", _state, "a session's state (messages, summaries, provenance)").add_argument(
        "--version", type=int, default=None)
    add("versions", _versions, "a session's versions")
    r = add("rollback", _rollback, "roll a session back to a version (with a reason)")
    r.add_argument("--version", type=int, required=True)
    r.add_argument("--reason", required=True)
    e = add("erase", _erase, "erase messages or a session; prints the receipt")
    e.add_argument("--message", action="append", default=[], metavar="ID")
    e.add_argument("--all", action="store_true", help="erase the whole session")
    e.add_argument("--reason", required=True)
    add("audit", _audit, "the audit log with its verification", session=False)
    t = add("ttl", _ttl, "expire a session (or one message) in SECONDS")
    t.add_argument("--seconds", type=float, required=True)
    t.add_argument("--message", default=None, metavar="ID")
    add("sweep", _sweep, "erase everything expired now (the TTL sweeper, once)",
        session=False)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM unwinds like Ctrl-C, so an embedded llama.cpp server is stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if argv and argv[0] == "eval":
        from eval.memory_cli import main as eval_main

        return eval_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except MemoryError_ as exc:
        print(f"lmroute memory {args.cmd}: {exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError, sqlite3.DatabaseError, OSError) as exc:
        where = getattr(args, "input", None) or getattr(args, "dir", None) or ""
        print(f"lmroute memory {args.cmd}: {where}: {_unreadable(exc)}", file=sys.stderr)
        return 2


def _unreadable(exc: Exception) -> str:
    """One line on a file that is not what a memory command reads."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}: {exc.reason})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg}, line {exc.lineno})"
    if isinstance(exc, sqlite3.DatabaseError):
        return f"not a memory database ({exc})"
    return f"{type(exc).__name__}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
