"""``python -m apps.video IN --repo OWNER/NAME --line x1,y1,x2,y2 --out OUT.mp4 --csv counts.csv``.

Detects, tracks (ByteTrack) and counts objects in a video file, and writes the annotated clip (H.264
mp4 or VP9 webm: both play in browsers) and a CSV with one row per frame. A progress bar shows
frames/s. Lines count in/out per class (a line drawn top to bottom counts left-to-right as "in");
zones count the objects inside per frame and those that ever entered.
"""

from __future__ import annotations

import argparse
import sys

from hub.errors import InvalidVideoError, YolodeckError
from hub.runtime.tiles import parse_tiles


def _numbers(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} takes comma-separated numbers, got {text!r}") from None
    if (count and len(values) != count) or (not count and (len(values) < 6 or len(values) % 2)):
        need = f"{count} numbers" if count else "at least 3 x,y points"
        raise argparse.ArgumentTypeError(f"{what} needs {need}, got {text!r}")
    return values


def _line(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    x1, y1, x2, y2 = _numbers(text, "--line", 4)
    return (x1, y1), (x2, y2)


def _zone(text: str) -> list[tuple[float, float]]:
    v = _numbers(text, "--zone")
    return list(zip(v[::2], v[1::2], strict=True))


def _tiles(text: str):
    try:
        return parse_tiles(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.video", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", help="input video (mp4, mov, mkv, webm, avi)")
    parser.add_argument("--repo", required=True, help="OWNER/NAME of the deck")
    parser.add_argument("--revision", default="main")
    parser.add_argument("--variant", help="variant id (default: the fastest accurate one here)")
    parser.add_argument("--endpoint", help="hub endpoint (default: the embedded hub)")
    parser.add_argument("--line", type=_line, action="append", default=[], metavar="X1,Y1,X2,Y2")
    parser.add_argument("--zone", type=_zone, action="append", default=[], metavar="X,Y,X,Y,X,Y,...")
    parser.add_argument("--out", help="annotated video to write (.mp4 or .webm)")
    parser.add_argument("--csv", help="per-frame counts to write")
    parser.add_argument("--every", type=int, default=1, help="detect every Nth frame (track in between)")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.7)
    parser.add_argument("--tiles", type=_tiles, help="ROWSxCOLS or auto, for large dense frames")
    parser.add_argument("--threads", type=int, help="intra-op threads")
    args = parser.parse_args(argv)
    import hub
    from hub.video import process_video

    try:
        detector = hub.load(args.repo, variant=args.variant, revision=args.revision, endpoint=args.endpoint,
                            threads=args.threads)
        report = process_video(args.video, detector, lines=args.line, zones=args.zone, out=args.out, csv=args.csv,
                               conf=args.conf, iou=args.iou, tiles=args.tiles, every=args.every)
    except (InvalidVideoError, ValueError, YolodeckError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{report.frames} frames at {report.fps:g} fps in {report.seconds:.1f} s "
          f"({report.frames_per_second:.1f} frames/s, {detector.path.name})")
    for k, c in enumerate(report.lines, 1):
        print(f"line {k}: in {c['in']}  out {c['out']}")
    for k, c in enumerate(report.zones, 1):
        print(f"zone {k}: entered {c['entered']}")
    for path in (report.out, report.csv):
        if path:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
