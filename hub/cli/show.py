"""Show a repo's deck: model, classes, the variant table and the objects' size from its manifest."""

from __future__ import annotations

import argparse

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", help="OWNER/NAME")
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import open_deck
    from hub.deck.card import table

    deck = open_deck(args.repo, revision=args.revision, endpoint=args.endpoint)
    m = deck.manifest
    refs = deck.store.list_refs(args.repo)
    tags = ", ".join(t["name"] for t in refs["tags"]) or "none"
    print(f"{args.repo}@{args.revision}: {m.model}, {len(m.classes)} classes ({', '.join(m.classes[:10])}), "
          f"imgsz {m.imgsz}, dataset {m.dataset.get('name', '?')}, created {m.created}; tags: {tags}\n")
    print(table(m))
    if m.objects:
        print(f"\nobjects: median {m.objects.median_px:.1f} px at the input; {m.objects.variant} keeps its accuracy down "
              f"to {m.objects.min_px:.1f} px (detect(tiles=\"auto\") tiles photos so their objects reach it)")
    return 0
