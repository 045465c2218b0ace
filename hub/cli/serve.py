"""Serve the embedded hub over the Hugging Face Hub HTTP API (for huggingface_hub clients)."""

from __future__ import annotations

import argparse
import os
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="hub folder (default: the embedded hub)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token-env", default="YOLODECK_SERVE_TOKEN",
                   help="environment variable holding a write token for every namespace (unset: none); "
                        "more tokens: `hub token create`")
    p.add_argument("--private", action="store_true", help="every read needs a token too, public repos included")
    p.add_argument("--max-commit-mb", type=float, default=2048, help="largest commit body (default: 2048)")
    p.add_argument("--max-file-mb", type=float, default=512, help="largest file in a commit (default: 512)")
    p.add_argument("--max-files", type=int, default=10_000, help="most files in one commit (default: 10000)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.server.app import create_app
    from hub.server.commit_body import Limits
    from hub.server.tokens import TokenStore
    from hub.store.local import LocalStore

    token = os.environ.get(args.token_env) or None
    limits = Limits(max_commit_bytes=int(args.max_commit_mb * 2**20), max_file_bytes=int(args.max_file_mb * 2**20),
                    max_files=args.max_files)
    app = create_app(args.root, token=token, private=args.private, limits=limits)
    root = LocalStore(args.root).root
    if not token and not TokenStore(root).entries():
        where = "this machine" if args.host in LOOPBACK else "the network"
        print(f"hub serve: warning: no token is set, so anyone on {where} can read every repo (private ones "
              f"too) and write to any; make one with `hub token create --root {root} --role write` or set "
              f"${args.token_env}", file=sys.stderr, flush=True)
    print(f"hub serving {args.root or 'the embedded hub'} at http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
