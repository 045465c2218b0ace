"""Create, list and revoke the access tokens of a served hub (`hub serve --root` the same folder)."""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", help="revoke: the token's name")
    p.add_argument("--root", help="the served hub's folder (default: the embedded hub)")
    p.add_argument("--role", choices=["read", "write"], help="create: what it may do")
    p.add_argument("--namespace", help="create: the owner it is for (e.g. acme; default: every namespace)")
    p.add_argument("--name", dest="token_name", help="create: a name to list and revoke it by")


def run(args: argparse.Namespace) -> int:
    from hub.base.errors import TokenError
    from hub.server.tokens import TokenStore
    from hub.store.local import LocalStore

    tokens = TokenStore(LocalStore(args.root).root)
    if args.action == "create":
        if not args.role:
            raise TokenError("hub token create needs --role read or --role write")
        secret, token = tokens.create(role=args.role, namespace=args.namespace, name=args.token_name)
        print(secret)
        print(f"token '{token.name}': {token.role}, {token.namespace or 'every namespace'}; shown once, only its "
              "hash is kept", flush=True, file=sys.stderr)
    elif args.action == "list":
        for t in tokens.entries():
            print(f"{t.name}\t{t.role}\t{t.namespace or '*'}\t{t.created}")
    else:
        if not args.name:
            raise TokenError("hub token revoke needs the token's name (`hub token list` shows them)")
        print(f"revoked '{tokens.revoke(args.name).name}'")
    return 0
