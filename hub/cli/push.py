"""Publish a deck folder to a model repo as one commit (optionally tagged)."""

from __future__ import annotations

import argparse

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("deck", help="deck folder (manifest.json + variants), from `python -m training deck`")
    p.add_argument("--repo", required=True, help="OWNER/NAME")
    p.add_argument("--tag", help="tag the new commit, e.g. v1")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--message", "-m", help="commit message")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import push

    result = push(args.deck, repo=args.repo, tag=args.tag, private=args.private, endpoint=args.endpoint,
                  message=args.message)
    tag = f" (tag {result.tag})" if result.tag else ""
    print(f"pushed {result.repo}@{result.commit[:12]}{tag} to {result.endpoint}")
    return 0
