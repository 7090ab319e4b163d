"""``lmroute serve keys {create,list,revoke}``: manage the gateway's API keys.

    lmroute serve keys create --name alice --models gpt-4-1106-preview,lmroute/auto \\
        --daily-budget-usd 5 [--db runs/serve/keys.sqlite]
    lmroute serve keys list
    lmroute serve keys revoke KEY_ID
    lmroute serve keys --postgres postgresql://lmroute@127.0.0.1:5432/lmroute list
                                       (the shared directory of state=shared, docs/scale.md)
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import Any

from serve.keys import KeyStore

DEFAULT_DB = "runs/serve/keys.sqlite"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmroute serve keys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default=DEFAULT_DB, help="SQLite key store (auth.db_path)")
    p.add_argument("--postgres", default=None, metavar="DSN",
                   help="the PostgreSQL key directory instead (state.postgres_dsn)")
    p.add_argument("--namespace", default="lmroute", help="with --postgres: state.namespace")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="create a key; prints it once")
    c.add_argument("--name", required=True)
    c.add_argument("--models", default="",
                   help="comma-separated models the key may use (router or concrete names); "
                        "empty = all")
    c.add_argument("--daily-budget-usd", type=float, default=None)
    sub.add_parser("list", help="list keys and today's spend (never the secrets)")
    r = sub.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("key_id")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        store = _store(args)
    except ValueError as exc:
        print(f"lmroute serve keys: {exc}", file=sys.stderr)
        return 2
    try:
        if args.cmd == "create":
            models = [m.strip() for m in args.models.split(",") if m.strip()] or None
            key = store.create_key(args.name, models, args.daily_budget_usd)
            print(json.dumps({"key": key, "name": args.name, "allowed_models": models,
                              "daily_budget_usd": args.daily_budget_usd}))
        elif args.cmd == "list":
            print(json.dumps(store.list_keys(), indent=2))
        elif not store.revoke(args.key_id):
            print(f"lmroute serve keys: no key with id {args.key_id!r}", file=sys.stderr)
            return 2
    except ValueError as exc:
        print(f"lmroute serve keys: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # a directory, not a database, locked, read-only ...
        print(f"lmroute serve keys: {args.db}: cannot use the key store ({exc})",
              file=sys.stderr)
        return 2
    except RuntimeError as exc:  # the shared directory is unreachable (StateUnavailable)
        print(f"lmroute serve keys: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _store(args: argparse.Namespace) -> Any:
    if args.postgres:
        from serve.state.pg_keys import PostgresKeyStore

        return PostgresKeyStore(args.postgres, args.namespace, timeout_s=5.0)
    return KeyStore(args.db)
