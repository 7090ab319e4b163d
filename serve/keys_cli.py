"""``lmroute serve keys {create,list,revoke}``: manage the gateway's API keys.

    lmroute serve keys create --name alice --models gpt-4-1106-preview,lmroute/auto \\
        --daily-budget-usd 5 [--db runs/serve/keys.sqlite]
    lmroute serve keys list
    lmroute serve keys revoke KEY_ID
"""

from __future__ import annotations

import argparse
import json
import sys

from serve.keys import KeyStore

DEFAULT_DB = "runs/serve/keys.sqlite"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmroute serve keys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default=DEFAULT_DB, help="SQLite key store (auth.db_path)")
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
    store = KeyStore(args.db)
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
    finally:
        store.close()
    return 0
