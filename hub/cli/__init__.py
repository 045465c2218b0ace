"""The ``hub`` command: push | pull | ls | show | serve | token | space | predict. One module per command, each thin."""

from __future__ import annotations

import argparse
import sys

import hub.base.offline
from hub.base.errors import YolodeckError

COMMANDS = ("push", "pull", "ls", "show", "serve", "token", "space", "predict")


def add_endpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="Hub URL (e.g. https://huggingface.co or a `hub serve`), or a folder; "
                        "default: the embedded hub ($YOLODECK_ENDPOINT overrides)")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="hub", description="yolodeck model repos: publish, fetch, inspect, serve.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"hub.cli.{name}")
        doc = module.__doc__ or name
        p = sub.add_parser(name, help=doc.splitlines()[0], description=doc)
        module.register(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    hub.base.offline.configure()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except YolodeckError as exc:
        print(f"hub {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hub {args.command}: interrupted; nothing was changed", file=sys.stderr)
        return 130
