"""The demo model: make sure the hub holds it, building it with our own pipeline the first time.

The first run turns the committed weights-only checkpoint ``checkpoints/shelves-demo.pt``
(yolov8n trained on synth-shelves: classes ``product`` and ``empty``; remake it with ``make demo-checkpoint``)
into a full deck:
synthetic test images, every variant exported and evaluated, pushed to the embedded hub as
``yolodeck/shelves-demo`` (tag ``v1``). Later runs find it there and return at once.

``--first`` (what ``make demo`` runs before it serves) pushes only ``FIRST_VARIANTS`` when the hub has no
demo yet: the fp32 reference and an int8 variant, in about a minute, so the app serves while a second
``python -m training.demo`` builds the whole deck and pushes it to ``main`` (the app's pickers show it
on the next page load).

    python -m training.demo [--endpoint URL] [--first | --rebuild]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import hub
import hub.base.offline
from hub.base.errors import ManifestError, RepositoryNotFoundError

DEMO_REPO = "yolodeck/shelves-demo"
CHECKPOINT = Path(__file__).parent / "checkpoints" / "shelves-demo.pt"
DEMO_IMGSZ = 320  # the webcam path's size: trained at 416, exported at 320 (see the README's table)
EXAMPLES = 4
FIRST_VARIANTS = ("onnx-fp32", "tflite-int8")  # the fp32 reference (the default rule needs it) and a fast int8


def demo_state(*, endpoint: str | None = None) -> str:
    """"missing", "old" (made before decks measured each class's best threshold, as ``conf="best"`` needs, or from
    weights committed before, with other classes: rebuilt), "first" (only some variants pushed so far) or "full"
    (a deck of every variant)."""
    from hub.base import catalog

    try:
        manifest = hub.manifest_of(DEMO_REPO, endpoint=endpoint)
    except (RepositoryNotFoundError, ManifestError):
        return "missing"
    if any(v.metrics is not None and not v.metrics.thresholds for v in manifest.variants):
        return "old"
    if manifest.classes != checkpoint_classes():  # made from weights committed before (product only)
        return "old"
    return "full" if {v.id for v in manifest.variants} >= set(catalog.VARIANTS) else "first"


def checkpoint_classes(checkpoint: Path = CHECKPOINT) -> list[str]:
    """The class names the committed weights detect."""
    import torch

    return list(torch.load(str(checkpoint), map_location="cpu", weights_only=True)["names"])


def build_demo_deck(out: Path, *, imgsz: int = DEMO_IMGSZ, seed: int = 1234,
                    variants: list[str] | None = None, checkpoint: Path = CHECKPOINT) -> Path:
    """Dataset for calibration and evaluation, then the deck, from the committed checkpoint (its gaps labelled
    ``empty`` when the checkpoint knows that class)."""
    from training.data import synth_shelves
    from training.deck import build_deck
    from training.export import checkpoint_from_weights
    from training.quiet import quiet_scale_guess

    quiet_scale_guess()
    data = synth_shelves.generate(out.parent / "demo-data", train=64, val=2, test=24, seed=seed,
                                  with_empty="empty" in checkpoint_classes(checkpoint))
    ckpt = checkpoint_from_weights(checkpoint, out.parent / "shelves-demo-ckpt.pt")
    build_deck(ckpt, data=data, out=out, imgsz=imgsz, calibration=64, name="shelves-demo", examples=EXAMPLES,
               variants=variants, object_scale=variants is None)  # the first variants serve at once; the full deck follows
    return out


def ensure_demo(*, endpoint: str | None = None, rebuild: bool = False, first: bool = False) -> str:
    """The demo repo id, building and pushing the deck if the hub does not hold it yet (``first``: any deck
    will do, and a missing one is built with ``FIRST_VARIANTS`` only)."""
    state = demo_state(endpoint=endpoint)
    if not rebuild and (state == "full" or (first and state == "first")):
        return DEMO_REPO
    only_first = first and not rebuild  # a missing demo, wanted quickly: the first variants now, untagged
    if only_first:
        print(f"building the demo model's first variants ({', '.join(FIRST_VARIANTS)}; about a minute on 2 cores)"
              "...", flush=True)
    else:
        print(f"building the demo model {DEMO_REPO} (first run only, about 3 minutes on 2 cores)...", flush=True)
    with tempfile.TemporaryDirectory(prefix="yolodeck-demo-") as tmp:
        deck = build_demo_deck(Path(tmp) / "deck", variants=list(FIRST_VARIANTS) if only_first else None)
        hub.push(deck, repo=DEMO_REPO, tag=None if only_first else _next_tag(endpoint), endpoint=endpoint,
                 message=f"Demo deck, first variants: {', '.join(FIRST_VARIANTS)} (the whole deck follows)"
                 if only_first else "Demo deck from the committed checkpoint")
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
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--first", action="store_true",
                       help=f"when there is no demo yet, push only {', '.join(FIRST_VARIANTS)} (about a minute)")
    group.add_argument("--rebuild", action="store_true", help="build and push the whole deck again")
    args = parser.parse_args(argv)
    hub.base.offline.configure()
    print(ensure_demo(endpoint=args.endpoint, rebuild=args.rebuild, first=args.first))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
