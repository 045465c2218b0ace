"""List the repos of a hub (models and Spaces), with their refs."""

from __future__ import annotations

import argparse

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--author", help="only repos of this owner")
    p.add_argument("--type", choices=["model", "space"], help="only this kind of repo")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import open_store

    store = open_store(args.endpoint)
    repos = store.list_repos(repo_type=args.type, author=args.author)
    if not repos:
        print("no repos")
        return 0
    for r in repos:
        sha = (r.get("sha") or "")[:12]
        private = " private" if r.get("private") else ""
        print(f"{r.get('type', 'model'):<6} {r['id']:<40} {sha:<12} {r.get('lastModified') or '':<24}{private}")
    return 0
