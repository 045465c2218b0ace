"""Download a deck, or one variant of it, verified by sha256; print the local path."""

from __future__ import annotations

import argparse

from hub.base import catalog
from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", help="OWNER/NAME")
    p.add_argument("--variant", help="variant id, e.g. tflite-int8 (default: every variant)")
    p.add_argument("--backend", help="or choose by backend: " + ", ".join(catalog.BACKENDS))
    p.add_argument("--precision", help="... and precision: " + ", ".join(catalog.PRECISIONS))
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    p.add_argument("--local-dir", help="put the files here instead of the cache")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import VariantQuery, open_deck

    deck = open_deck(args.repo, revision=args.revision, endpoint=args.endpoint)
    query = VariantQuery(args.variant, args.backend, args.precision)
    folder = deck.pull(query, local_dir=args.local_dir)
    print(folder / query.select(deck.manifest)[0].file if query else folder)
    return 0
