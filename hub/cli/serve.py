"""Serve the embedded hub over the Hugging Face Hub HTTP API (for huggingface_hub clients)."""

from __future__ import annotations

import argparse
import os


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="hub folder (default: the embedded hub)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token-env", default="YOLODECK_SERVE_TOKEN",
                   help="environment variable holding the token writes must present (unset: no token)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.store.server import create_app

    app = create_app(args.root, token=os.environ.get(args.token_env) or None)
    print(f"hub serving {args.root or 'the embedded hub'} at http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
