"""``python -m training``: data, train, deck, weights, sweep. Thin: parse, call the library, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _data(args: argparse.Namespace) -> int:
    if args.kind == "check":
        return _check(args)
    if not args.out:
        print(f"error: data {args.kind} needs --out DIR (the dataset folder to write)", file=sys.stderr)
        return 2
    if args.kind == "import":
        from training.data.imports import DatasetError, import_dataset

        if not args.source or not args.fmt:
            print("error: data import --from FORMAT SRC --out DIR", file=sys.stderr)
            return 2
        try:
            split = tuple(float(x) for x in args.split.split(","))
            path = import_dataset(args.fmt, args.source, args.out, split=split, seed=args.seed,
                                  classes=args.classes.split(",") if args.classes else None)
        except (DatasetError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(path)
        return _check(argparse.Namespace(source=str(path), imgsz=args.imgsz, json=None))
    if args.kind == "synth-shelves":
        from training.data import synth_shelves

        path = synth_shelves.generate(
            args.out, train=args.train, val=args.val, test=args.test, width=args.width, height=args.height,
            with_empty=args.with_empty, seed=args.seed,
        )
    elif args.kind == "synth-pan":
        from training.data import synth_pan

        width = args.width if args.width != 640 else 256
        height = args.height if args.height != 640 else 256
        path = synth_pan.generate(args.out, width=width, height=height, shelf_width=3 * width, seed=args.seed)
    elif args.kind == "synth-digits":
        from training.data import synth_digits

        path = synth_digits.generate(args.out, train=args.train, val=args.val, test=args.test, seed=args.seed)
    else:
        from training.data import sku110k

        if args.release is None:
            print("error: sku110k needs --release DIR (the unpacked SKU110K_fixed folder)", file=sys.stderr)
            return 2
        path, report = sku110k.convert(args.release, args.out, link=not args.copy)
        print(report.summary(), file=sys.stderr)
        for line in report.skipped[:20]:
            print(f"  skipped {line}", file=sys.stderr)
        if len(report.skipped) > 20:
            print(f"  ... {len(report.skipped) - 20} more in {Path(args.out) / 'skipped.txt'}", file=sys.stderr)
    print(path)
    return 0


def _check(args: argparse.Namespace) -> int:
    """Print the dataset's report, write it as JSON; 1 when it has errors."""
    from training.data.check import check_dataset

    if not args.source:
        print("error: data check DIR (a dataset folder or its data.yaml)", file=sys.stderr)
        return 2
    try:
        report = check_dataset(args.source, imgsz=args.imgsz)
    except (OSError, ValueError) as exc:  # no data.yaml there, or not one
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.table(), file=sys.stderr)
    out = Path(args.json) if args.json else Path(report.root) / "check.json"
    out.write_text(report.to_json())
    print(out)
    return 1 if report.errors else 0


def _train(args: argparse.Namespace) -> int:
    from training.train import train

    if not args.skip_check and _check(argparse.Namespace(source=args.data, imgsz=args.imgsz, json=None)):
        print("error: the dataset has errors (above); fix them, or train anyway with --skip-check", file=sys.stderr)
        return 1

    try:
        run = train(
            data=args.data, model=args.model, out=args.out, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
            width=args.width, depth=args.depth, freeze=args.freeze, weights=args.weights, device=args.device,
            seed=args.seed, patience=args.patience, nbs=args.nbs, allow_download=args.allow_download,
            **dict(_parse_set(kv) for kv in args.set),
        )
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(run)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from training.sweep import sweep

    def floats(text: str | None) -> list[float | None]:
        return [float(x) for x in text.split(",")] if text else [None]

    summary = sweep(data=args.data, out=args.out, model=args.model, widths=floats(args.width), depths=floats(args.depth),
                    epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, variants=args.variants,
                    repo_prefix=args.repo_prefix, endpoint=args.endpoint, threads=args.threads,
                    **dict(_parse_set(kv) for kv in args.set))
    print(summary)
    return 0


def _parse_set(item: str) -> tuple[str, object]:
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise SystemExit(f"error: --set expects key=value, got {item!r}")
    return key, yaml.safe_load(value)


def _deck(args: argparse.Namespace) -> int:
    from hub.deck import card
    from training.deck import build_deck

    manifest = build_deck(
        args.run, data=args.data, out=args.out, variants=args.variants, imgsz=args.imgsz, threads=args.threads,
        calibration=args.calibration, name=args.name, examples=args.examples, object_scale=args.object_scale,
        jobs=args.jobs, workers=args.workers, latency_rounds=args.latency_rounds,
    )
    print(Path(args.out) / "manifest.json")
    print(card.table(manifest), file=sys.stderr)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import signal

    from training.quiet import quiet_scale_guess
    from training.remote import DeckWorker, shown

    quiet_scale_guess()
    worker = DeckWorker(args.redis, name=args.name, threads=args.threads)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())  # the batch running ends first
    print(f"deck worker {worker.name}: taking batches from {shown(args.redis)}", flush=True)
    try:
        worker.serve()
    except KeyboardInterrupt:
        pass
    return 0


def _weights(args: argparse.Namespace) -> int:
    from ultralytics import YOLO

    from training.deck import checkpoint_of
    from training.export import save_weights

    yolo = YOLO(str(checkpoint_of(Path(args.run))), task="detect")
    imgsz = int((yolo.ckpt.get("train_args") or {}).get("imgsz") or 640)
    names = [yolo.names[i] for i in sorted(yolo.names)]
    print(save_weights(yolo.model, Path(args.out), names=names, imgsz=imgsz, half=args.half))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make, import, convert or check a dataset (YOLO layout + data.yaml)")
    data.add_argument("kind", choices=["synth-shelves", "synth-digits", "synth-pan", "sku110k", "import", "check"],
                      help="synth-pan: a video panning along a shelf, with every product's box and id per frame; "
                           "import: a labelling tool's export (--from); check: report a dataset's flaws")
    data.add_argument("source", nargs="?", help="import: the export (folder or file); check: the dataset")
    data.add_argument("--out", help="dataset folder to write")
    data.add_argument("--from", dest="fmt", choices=["coco", "voc", "labelstudio", "cvat", "yolo"],
                      help="import: the export's format")
    data.add_argument("--split", default="0.8,0.1,0.1", help="import: train,val,test fractions (a YOLO export "
                                                            "keeps its own splits)")
    data.add_argument("--classes", help="import: class names in the order to number them (default: COCO's ids, "
                                        "the YOLO export's names, else sorted)")
    data.add_argument("--imgsz", type=int, default=640, help="check: the input size you plan to train at")
    data.add_argument("--json", help="check: where to write the JSON report (default: DATASET/check.json)")
    data.add_argument("--train", type=int, default=None, help="number of train images (synthetic)")
    data.add_argument("--val", type=int, default=None, help="number of val images (synthetic)")
    data.add_argument("--test", type=int, default=None, help="number of test images (synthetic)")
    data.add_argument("--width", type=int, default=640, help="image width (synth-shelves)")
    data.add_argument("--height", type=int, default=640, help="image height (synth-shelves)")
    data.add_argument("--with-empty", action="store_true", help="synth-shelves: also label gaps as class 'empty'")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--release", help="sku110k: the unpacked SKU110K_fixed folder")
    data.add_argument("--copy", action="store_true", help="sku110k: copy images instead of hard-linking")
    data.set_defaults(func=_data)

    tr = sub.add_parser("train", help="train a YOLO model with Ultralytics")
    tr.add_argument("--data", required=True, help="data.yaml")
    tr.add_argument("--model", default="yolov8n.yaml", help="Ultralytics model YAML (or a path to one)")
    tr.add_argument("--weights", help="start from this checkpoint (.pt) instead of from scratch")
    tr.add_argument("--width", type=float, help="width multiple (overrides the YAML's scale)")
    tr.add_argument("--depth", type=float, help="depth multiple (overrides the YAML's scale)")
    tr.add_argument("--freeze", type=int, help="freeze the first N layers (transfer learning)")
    tr.add_argument("--epochs", type=int, default=30)
    tr.add_argument("--imgsz", type=int, default=416)
    tr.add_argument("--batch", type=int, default=16)
    tr.add_argument("--device", default=None, help="auto: every GPU when present, else cpu")
    tr.add_argument("--patience", type=int, default=100)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--nbs", type=int, help="nominal batch size (default: --batch, a step every batch)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any other Ultralytics train argument, e.g. --set mosaic=0 (repeatable)")
    tr.add_argument("--out", required=True, help="run folder to write")
    tr.add_argument("--skip-check", action="store_true", help="train even when `data check` finds errors")
    tr.add_argument("--allow-download", action="store_true",
                    help="let Ultralytics download --weights given by name (the one step that goes online)")
    tr.set_defaults(func=_train)

    dk = sub.add_parser("deck", help="export every variant of a run and evaluate each on the test split")
    dk.add_argument("run", help="run folder from 'train' (or a .pt checkpoint)")
    dk.add_argument("--data", required=True, help="data.yaml (calibration from train, evaluation on test)")
    dk.add_argument("--out", required=True, help="deck folder to write")
    dk.add_argument("--variants", nargs="*", help="variant ids (default: all)")
    dk.add_argument("--imgsz", type=int, help="export size (default: the training size)")
    dk.add_argument("--threads", type=int, default=2, help="intra-op threads for latency")
    dk.add_argument("--calibration", type=int, default=64, help="training images used to calibrate int8")
    dk.add_argument("--name", help="model name in the manifest (default: the run folder's name)")
    dk.add_argument("--examples", type=int, default=4, help="test images shipped with the deck for the apps")
    dk.add_argument("--no-object-scale", dest="object_scale", action="store_false",
                    help="skip measuring how small the objects may get (five more passes over a sample of the test "
                         "split; without it tiles='auto' tiles by the training images' size)")
    dk.add_argument("--jobs", type=int, help="processes that evaluate side by side, each a one-thread detector "
                                             "(default: one per core)")
    dk.add_argument("--latency-rounds", type=int, default=8, metavar="N",
                    help="blocks of 10 calls per variant, taken in turn, for the latency (fewer: quicker, noisier)")
    dk.add_argument("--workers", metavar="REDIS_URL",
                    help="evaluate on the deck workers reading this Redis (`python -m training worker`, any host) "
                         "instead of here; the only step that reaches another host, and only this one")
    dk.set_defaults(func=_deck)

    wk = sub.add_parser("worker", help="run deck builds' evaluation batches from a Redis (see deck --workers)")
    wk.add_argument("--redis", required=True, metavar="URL", help="the Redis the deck builds send batches to")
    wk.add_argument("--threads", type=int, default=1, help="intra-op threads (start one worker per core)")
    wk.add_argument("--name", help="this worker's name (default: host-pid)")
    wk.set_defaults(func=_worker)

    wt = sub.add_parser("weights", help="save a run's model as a weights-only checkpoint (safe to load)")
    wt.add_argument("run", help="run folder (or a .pt checkpoint you trust)")
    wt.add_argument("--out", required=True, help="file to write")
    wt.add_argument("--half", action="store_true", help="store fp16 weights (half the size)")
    wt.set_defaults(func=_weights)

    sw = sub.add_parser("sweep", help="train and deck a model at several width/depth multiples; table and chart")
    sw.add_argument("--data", required=True, help="data.yaml")
    sw.add_argument("--model", default="yolov8n.yaml", help="Ultralytics model YAML")
    sw.add_argument("--width", help="comma-separated width multiples, e.g. 0.25,0.125,0.0625")
    sw.add_argument("--depth", help="comma-separated depth multiples (default: the YAML's)")
    sw.add_argument("--epochs", type=int, default=30)
    sw.add_argument("--imgsz", type=int, default=416)
    sw.add_argument("--batch", type=int, default=16)
    sw.add_argument("--variants", nargs="*", help="variant ids per point (default: all)")
    sw.add_argument("--threads", type=int, default=2, help="threads for the latency of every point")
    sw.add_argument("--repo-prefix", help="push each point's deck as PREFIX<width>, e.g. acme/shelves-w")
    sw.add_argument("--endpoint", help="where to push (default: the embedded hub)")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more YOLO.train settings")
    sw.add_argument("--out", required=True, help="sweep folder (resumable: built points are reused)")
    sw.set_defaults(func=_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    import hub.base.offline

    hub.base.offline.configure()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse fills an optional positional (data's SOURCE) only from the words before the first option, so
    # `data import --from coco exports/x` would leave it empty and refuse exports/x: take it here instead
    if args.command == "data" and args.source is None and len(extra) == 1 and not extra[0].startswith("-"):
        args.source, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "data":
        defaults = {"synth-shelves": (120, 24, 24), "synth-digits": (400, 80, 80), "sku110k": (0, 0, 0),
                    "synth-pan": (0, 0, 0)}.get(args.kind, (0, 0, 0))
        args.train, args.val, args.test = (
            v if v is not None else d for v, d in zip((args.train, args.val, args.test), defaults, strict=True)
        )
    return args.func(args)
