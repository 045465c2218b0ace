"""Serve a static Space's folder on loopback with the headers its front matter asks the Hub for.

``python -m space.serve_static DIR [--port 7861] [--host 127.0.0.1]``: the standard library's file server,
plus the README's ``custom_headers`` (COOP/COEP/CORP, which make the page cross-origin isolated, so
onnxruntime-web may use threads) and ``.mjs``/``.wasm`` served with their JavaScript and WebAssembly types.
"""

from __future__ import annotations

import argparse
import functools
import http.server
from pathlib import Path

import yaml


def front_matter_headers(folder: Path) -> dict[str, str]:
    """The ``custom_headers`` of the Space's README front matter (none without a README)."""
    readme = folder / "README.md"
    if not readme.is_file():
        return {}
    text = readme.read_text()
    if not text.startswith("---"):
        return {}
    meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    return dict(meta.get("custom_headers") or {})


class Handler(http.server.SimpleHTTPRequestHandler):
    extra_headers: dict[str, str] = {}
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def end_headers(self) -> None:
        for key, value in self.extra_headers.items():
            self.send_header(key, value)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class' name
        pass


def serve(folder: Path, *, host: str = "127.0.0.1", port: int = 7861) -> http.server.ThreadingHTTPServer:
    """A server (not yet started) for ``folder`` with its front matter's headers."""
    handler = type("SpaceHandler", (Handler,), {"extra_headers": front_matter_headers(folder)})
    return http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(folder)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args(argv)
    server = serve(args.folder, host=args.host, port=args.port)
    print(f"static Space {args.folder}: http://{args.host}:{args.port}/ (headers: "
          f"{', '.join(front_matter_headers(args.folder)) or 'none'})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
