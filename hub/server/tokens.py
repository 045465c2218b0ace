"""Access tokens of a served hub: made once, stored only as a hash, scoped by role and namespace.

``tokens.json`` in the hub's root holds, per token, its name, role (``read`` or ``write``),
namespace (an owner such as ``acme``, or none: every namespace), creation time and the sha256
of the secret. The secret itself is printed once by ``hub token create`` and never stored.
Looking a token up hashes what the client sent and compares it with every stored hash in
constant time (``hmac.compare_digest``), so neither the answer nor its timing says how much
of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from hub.base.errors import TokenError
from hub.store.files import now, write_atomic

ROLES = ("read", "write")
PREFIX = "ydk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Token:
    """What a token may do. ``namespace`` None: every namespace."""

    name: str
    role: str
    namespace: str | None
    created: str
    sha256: str = ""

    def covers(self, repo_id: str) -> bool:
        return self.namespace is None or repo_id.split("/")[0] == self.namespace

    @property
    def writes(self) -> bool:
        return self.role == "write"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """The tokens of the hub at ``root`` (``tokens.json`` beside its repos)."""

    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / "tokens.json"
        self._lock = FileLock(Path(root) / "tokens.lock")
        self._read: tuple[tuple[int, int, int], list[Token]] | None = None

    def entries(self) -> list[Token]:
        """The stored tokens; parsed again only when ``tokens.json`` changed (a server asks on every request)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)  # write_atomic renames a new file in: a new inode
        if self._read is None or self._read[0] != seen:
            self._read = (seen, [Token(**t) for t in json.loads(self.path.read_text())])
        return list(self._read[1])

    def _save(self, tokens: list[Token]) -> None:
        write_atomic(self.path, json.dumps([asdict(t) for t in tokens], indent=2).encode())

    def create(self, *, role: str, namespace: str | None = None, name: str | None = None) -> tuple[str, Token]:
        """A new token: (the secret, shown once; what is stored)."""
        if role not in ROLES:
            raise TokenError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if namespace is not None and not _NAME.match(namespace):
            raise TokenError(f"namespace {namespace!r} is not a valid owner name")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            tokens = self.entries()
            name = name or f"{role}-{len(tokens) + 1}"
            if not _NAME.match(name):
                raise TokenError(f"token name {name!r}: letters, digits, '.', '_' and '-' only")
            if any(t.name == name for t in tokens):
                raise TokenError(f"a token named {name!r} exists already; revoke it or choose another name")
            secret = PREFIX + secrets.token_urlsafe(32)
            token = Token(name=name, role=role, namespace=namespace, created=now(), sha256=digest(secret))
            self._save([*tokens, token])
        return secret, token

    def revoke(self, name: str) -> Token:
        with self._lock:
            tokens = self.entries()
            gone = next((t for t in tokens if t.name == name), None)
            if gone is None:
                raise TokenError(f"no token named {name!r}; `hub token list` shows them")
            self._save([t for t in tokens if t.name != name])
        return gone

    def find(self, secret: str) -> Token | None:
        """The token whose hash matches ``secret``, every stored hash compared in constant time."""
        wanted, found = digest(secret).encode(), None
        for t in self.entries():
            if hmac.compare_digest(t.sha256.encode(), wanted):
                found = t
        return found
