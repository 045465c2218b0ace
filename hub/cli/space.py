"""Assemble a Hugging Face Space for a model repo (static page, gradio app or docker dashboard) and push it."""

from __future__ import annotations

import argparse

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["push", "build"], help="push: assemble and upload; build: only assemble")
    p.add_argument("--repo", help="the Space, OWNER/NAME (push)")
    p.add_argument("--model", required=True, help="the model repo it serves, OWNER/NAME")
    p.add_argument("--revision", help="pin the model to this revision (default: main's commit now)")
    p.add_argument("--sdk", choices=["static", "gradio", "docker"], default="gradio",
                   help="static: the deck runs in the visitor's browser (free for every account); gradio: the "
                        "detection app (PRO or Team on the Hub); docker: the Streamlit dashboard")
    p.add_argument("--variants", nargs="+", help="static: the ONNX variants the page offers (default: all)")
    p.add_argument("--bundle", action="store_true",
                   help="static: copy the deck's files into the Space instead of fetching them from the model repo")
    p.add_argument("--model-endpoint", help="where the Space fetches the model (default: the push endpoint)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--out", help="build: the folder to write")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from space.build import assemble, push_space

    if args.action == "build":
        if not args.out:
            raise SystemExit("hub space build: --out is required")
        print(assemble(args.out, model=args.model, revision=args.revision or "main",
                       endpoint=args.model_endpoint or args.endpoint, sdk=args.sdk, variants=args.variants,
                       bundle=args.bundle))
        return 0
    if not args.repo:
        raise SystemExit("hub space push: --repo is required")
    commit = push_space(repo=args.repo, model=args.model, revision=args.revision, endpoint=args.endpoint,
                        model_endpoint=args.model_endpoint, sdk=args.sdk, private=args.private,
                        variants=args.variants, bundle=args.bundle)
    print(f"pushed space {args.repo}@{commit[:12]}")
    return 0
