"""Run a deck over a folder of images and write pre-annotations for a labelling tool (Label Studio, COCO, YOLO, CSV)."""

from __future__ import annotations

import argparse
import sys

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    from hub.preannotate import FORMATS

    p.add_argument("repo", help="OWNER/NAME of the deck")
    p.add_argument("source", help="a folder of images, a .txt list of paths, or a glob pattern ('photos/**/*.jpg')")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="labelstudio")
    p.add_argument("--variant", help="variant id (default: the fastest accurate one on this machine)")
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    p.add_argument("--conf", type=float, default=0.25, help="lowest confidence kept (0.001 for the whole PR curve)")
    p.add_argument("--iou", type=float, default=0.7, help="NMS IoU")
    p.add_argument("--max-det", type=int, default=1000, help="most boxes an image")
    p.add_argument("--tiles", default="off", help="off, auto or RxC (large photos of small objects)")
    p.add_argument("--threads", type=int, help="intra-op threads (default: the backend's choice)")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import VariantQuery, open_deck
    from hub.preannotate import predict
    from hub.runtime.tiles import parse_tiles

    try:
        tiles = parse_tiles(args.tiles)
    except ValueError as exc:
        raise SystemExit(f"hub predict: {exc}") from None
    deck = open_deck(args.repo, revision=args.revision, endpoint=args.endpoint)
    query = VariantQuery(args.variant)
    chosen = query.one(deck.manifest) if query else deck.default_variant(threads=args.threads)
    detector = deck.load(VariantQuery(chosen.id), threads=args.threads)
    summary = predict(detector, args.source, args.out, fmt=args.fmt, conf=args.conf, iou=args.iou,
                      max_det=args.max_det, tiles=tiles, model_version=f"{args.repo}@{deck.commit[:12]} {chosen.id}")
    for file, why in summary.skipped[:20]:
        print(f"skipped {file}: {why}", file=sys.stderr)
    print(f"{summary.images} images, {summary.boxes} boxes ({chosen.id}); {len(summary.skipped)} skipped",
          file=sys.stderr)
    for path in summary.files:
        print(path)
    return 0
