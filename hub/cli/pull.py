"""Download a deck, or one variant of it, verified by sha256; print the local path."""

from __future__ import annotations

import argparse

from hub.cli import add_endpoint


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", help="OWNER/NAME")
    p.add_argument("--variant", help="variant id, e.g. tflite-int8 (default: every variant)")
    p.add_argument("--backend", help="or choose by backend: torch, torchscript, onnxruntime, tflite")
    p.add_argument("--precision", help="... and precision: fp32, fp16, int8")
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    p.add_argument("--local-dir", help="put the files here instead of the cache")
    add_endpoint(p)


def run(args: argparse.Namespace) -> int:
    from hub.api import choose_variants, pull
    from hub.manifest import Manifest

    folder = pull(args.repo, variant=args.variant, backend=args.backend, precision=args.precision,
                  revision=args.revision, endpoint=args.endpoint, local_dir=args.local_dir)
    if args.variant or args.backend or args.precision:
        chosen = choose_variants(Manifest.read(folder), variant=args.variant, backend=args.backend, precision=args.precision)
        print(folder / chosen[0].file)
    else:
        print(folder)
    return 0
