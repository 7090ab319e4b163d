"""Keyed hashes: the audit chain, content hashes and version state hashes.

Every hash is an HMAC-SHA256 under the store's secret key, which never lives in the
database (``$LMROUTE_MEMORY_KEY`` as hex, else a key file created with mode 0600 beside
it), so low-entropy text cannot be guessed from a hash by whoever holds the file. A
content hash also mixes in a random per-record salt that is deleted with the record:
once a message is erased, its hash in the audit log cannot be linked to any text, even
by someone who has the key.

A version's state hash is an additive multiset hash (the sum of its items' HMACs modulo
2**256), so appending, erasing or replacing one item updates it in O(1).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from serve.memory.errors import InvalidInput

KEY_ENV = "LMROUTE_MEMORY_KEY"
_MOD = 1 << 256


def load_key(key_file: Path) -> bytes:
    """The secret key: ``$LMROUTE_MEMORY_KEY`` (hex), else ``key_file`` (created once)."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            key = bytes.fromhex(env)
        except ValueError as exc:
            raise InvalidInput(f"{KEY_ENV}: expected hex, got {len(env)} other chars") from exc
        if len(key) < 16:
            raise InvalidInput(f"{KEY_ENV}: expected at least 16 bytes (32 hex chars)")
        return key
    if key_file.exists():
        return bytes.fromhex(key_file.read_text().strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    return key


def new_salt() -> bytes:
    return secrets.token_bytes(16)


class Keyring:
    """HMACs under one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def mac(self, *parts: str | bytes) -> str:
        """HMAC-SHA256 of the parts (length-prefixed, so boundaries are unambiguous)."""
        h = hmac.new(self._key, digestmod=hashlib.sha256)
        for p in parts:
            b = p.encode() if isinstance(p, str) else p
            h.update(len(b).to_bytes(4, "big"))
            h.update(b)
        return h.hexdigest()

    def content_hash(self, salt: bytes, text: str) -> str:
        return self.mac(b"content", salt, text)

    def session_ref(self, owner: str, session_id: str) -> str:
        """The audit log's name for a session (no plaintext session id)."""
        return self.mac(b"session", owner, session_id)[:32]

    def item(self, kind: str, ident: str, seq: int, content_hash: str) -> str:
        """The hash of one member of a version's state."""
        return self.mac(b"item", kind, ident, str(seq), content_hash)


def add_hash(total: str, item: str) -> str:
    """Multiset hash: ``total + item`` modulo 2**256 (hex in, hex out)."""
    return f"{(int(total, 16) + int(item, 16)) % _MOD:064x}"


def sub_hash(total: str, item: str) -> str:
    return f"{(int(total, 16) - int(item, 16)) % _MOD:064x}"


EMPTY_HASH = "0" * 64
