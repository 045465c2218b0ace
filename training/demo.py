"""The demo model: make sure the hub holds it, building it with our own pipeline the first time.

The first run turns the committed weights-only checkpoint ``checkpoints/shelves-demo.pt``
(yolov8n trained on synth-shelves; remake it with ``make demo-checkpoint``) into a full deck:
synthetic test images, every variant exported and evaluated, pushed to the embedded hub as
``yolodeck/shelves-demo`` (tag ``v1``). Later runs find it there and return at once.

    python -m training.demo [--endpoint URL] [--rebuild]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import hub
import hub.offline
from hub.errors import ManifestError, RepositoryNotFoundError

DEMO_REPO = "yolodeck/shelves-demo"
CHECKPOINT = Path(__file__).parent / "checkpoints" / "shelves-demo.pt"
DEMO_IMGSZ = 320  # the webcam path's size: trained at 416, exported at 320 (see the README's table)
EXAMPLES = 4


def demo_exists(*, endpoint: str | None = None) -> bool:
    try:
        hub.manifest_of(DEMO_REPO, endpoint=endpoint)
        return True
    except (RepositoryNotFoundError, ManifestError):
        return False


def build_demo_deck(out: Path, *, imgsz: int = DEMO_IMGSZ, seed: int = 1234) -> Path:
    """Dataset for calibration and evaluation, then the deck, from the committed checkpoint."""
    from training.data import synth_shelves
    from training.deck import build_deck
    from training.export import checkpoint_from_weights

    data = synth_shelves.generate(out.parent / "demo-data", train=64, val=2, test=24, seed=seed)
    ckpt = checkpoint_from_weights(CHECKPOINT, out.parent / "shelves-demo-ckpt.pt")
    build_deck(ckpt, data=data, out=out, imgsz=imgsz, calibration=64, name="shelves-demo", examples=EXAMPLES)
    return out


def ensure_demo(*, endpoint: str | None = None, rebuild: bool = False) -> str:
    """The demo repo id, building and pushing the deck if the hub does not hold it yet."""
    if not rebuild and demo_exists(endpoint=endpoint):
        return DEMO_REPO
    print(f"building the demo model {DEMO_REPO} (first run only, about 3 minutes on 2 cores)...", flush=True)
    with tempfile.TemporaryDirectory(prefix="yolodeck-demo-") as tmp:
        deck = build_demo_deck(Path(tmp) / "deck")
        hub.push(deck, repo=DEMO_REPO, tag=_next_tag(endpoint), endpoint=endpoint,
                 message="Demo deck from the committed checkpoint")
    return DEMO_REPO


def _next_tag(endpoint: str | None) -> str:
    """v1 for the first build, then v2, v3, ... for rebuilds."""
    try:
        tags = [t["name"] for t in hub.open_store(endpoint).list_refs(DEMO_REPO)["tags"]]
    except RepositoryNotFoundError:
        return "v1"
    numbers = [int(t[1:]) for t in tags if t.startswith("v") and t[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def ensure_demo_deck(*, endpoint: str | None = None) -> Path:
    """The demo deck pulled into the cache (every variant)."""
    return hub.pull(ensure_demo(endpoint=endpoint), endpoint=endpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", help="hub endpoint (default: the embedded hub)")
    parser.add_argument("--rebuild", action="store_true", help="build and push the deck again")
    args = parser.parse_args(argv)
    hub.offline.configure()
    print(ensure_demo(endpoint=args.endpoint, rebuild=args.rebuild))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
