"""Who may read and write what on a served hub, decided in one place (the Hub's rules).

- A request carries no token, or ``Authorization: Bearer <token>``; a token that is not known
  (wrong, revoked) is a 401 on every route, so it is never mistaken for anonymous access.
- Reads: a public repo is readable by anyone (unless the hub is served ``--private``); a private
  one only with a read or write token for its namespace. Without one, it does not exist: the
  same 404 ``RepoNotFound`` as a repo that was never made, and absent from listings.
- Writes need a write token for the repo's namespace (401 without a token, 403 with one that
  does not cover it). ``$YOLODECK_SERVE_TOKEN`` is one write token for every namespace.
- A hub with no token at all (no environment token, none created) is open: anyone may do
  anything, private repos included; ``hub serve`` says so when it starts.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from hub.base.errors import RepositoryNotFoundError
from hub.server.commit_body import HttpError
from hub.server.tokens import Token, TokenStore
from hub.store.local import LocalStore

ENV_TOKEN = Token(name="$YOLODECK_SERVE_TOKEN", role="write", namespace=None, created="")
OPEN = Token(name="(open hub)", role="write", namespace=None, created="")


class Access:
    def __init__(self, store: LocalStore, *, env_token: str | None = None, private: bool = False) -> None:
        self.store, self.env_token, self.private = store, env_token, private
        self.tokens = TokenStore(store.root)

    @property
    def open(self) -> bool:
        return not self.env_token and not self.tokens.entries()

    def caller(self, request: Request) -> Token | None:
        """The token a request carries (a FastAPI dependency); None without one."""
        header = request.headers.get("authorization")
        if self.open:
            return OPEN
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HttpError(401, "Authorization must be 'Bearer <token>'")
        secret = secret.strip()
        if self.env_token and hmac.compare_digest(secret.encode(), self.env_token.encode()):
            return ENV_TOKEN
        token = self.tokens.find(secret)
        if token is None:
            raise HttpError(401, "invalid or revoked token: create one with `hub token create`")
        return token

    def may_read(self, caller: Token | None, repo_id: str, *, private: bool) -> bool:
        if not (private or self.private):
            return True
        return caller is not None and caller.covers(repo_id)

    def read(self, caller: Token | None, repo_id: str, repo_type: str) -> None:
        """RepositoryNotFoundError, worded as for a repo that does not exist, unless ``caller`` may read it."""
        meta = self.store.repo_meta(repo_id, repo_type=repo_type)  # raises the same error if absent
        if not self.may_read(caller, repo_id, private=bool(meta.get("private"))):
            raise RepositoryNotFoundError(f"{repo_type} repo {repo_id} not found in the hub at {self.store.root}")

    def write(self, caller: Token | None, repo_id: str, repo_type: str, *, exists: bool = True) -> None:
        """Raise unless ``caller`` may change ``repo_id`` (one it cannot see stays a 404)."""
        if exists:
            self.read(caller, repo_id, repo_type)
        namespace = repo_id.split("/")[0]
        if caller is None:
            raise HttpError(401, f"writing to {namespace}/ needs a write token: pass token= or set HF_TOKEN")
        if not (caller.writes and caller.covers(repo_id)):
            raise HttpError(403, f"token '{caller.name}' ({caller.role}, {caller.namespace or 'all namespaces'}) "
                                 f"may not write to {namespace}/")
