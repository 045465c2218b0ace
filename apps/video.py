"""``python -m apps.video IN --repo OWNER/NAME --line x1,y1,x2,y2 --out OUT.mp4 --csv counts.csv``.

Detects, tracks (ByteTrack) and counts objects in a video file, and writes the annotated clip (H.264
mp4 or VP9 webm: both play in browsers) and a CSV with one row per frame. A progress bar shows
frames/s. Lines count in/out per class (a line drawn top to bottom counts left-to-right as "in");
zones count the objects inside per frame and those that ever entered.

A live source instead of a file (``rtsp://``, ``udp://``, ``http(s)://`` HLS or MJPEG, ``/dev/videoN``) runs
until Ctrl-C or ``--duration`` seconds: frames at most ``--max-lag`` seconds old (older ones dropped and counted), a
status line every second, and the CSV one row per second, flushed as it goes; a source that drops is opened
again with backoff. Credentials in a URL are never printed.
"""

from __future__ import annotations

import argparse
import sys

from hub.base.errors import InvalidVideoError, YolodeckError
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


def _conf(text: str) -> float | str:
    if text == "best":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"--conf is a number in [0, 1] or 'best', not {text!r}")
    return value


def _tiles(text: str):
    try:
        return parse_tiles(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.video", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", help="input video (mp4, mov, mkv, webm, avi), or a live source: rtsp://, udp://, "
                                      "http(s):// (HLS .m3u8 or MJPEG), /dev/videoN")
    parser.add_argument("--repo", required=True, help="OWNER/NAME of the deck")
    parser.add_argument("--revision", default="main")
    parser.add_argument("--variant", help="variant id (default: the fastest accurate one here)")
    parser.add_argument("--endpoint", help="hub endpoint (default: the embedded hub)")
    parser.add_argument("--line", type=_line, action="append", default=[], metavar="X1,Y1,X2,Y2")
    parser.add_argument("--zone", type=_zone, action="append", default=[], metavar="X,Y,X,Y,X,Y,...")
    parser.add_argument("--out", help="annotated video to write (.mp4 or .webm)")
    parser.add_argument("--csv", help="per-frame counts to write")
    parser.add_argument("--every", type=int, default=1, help="detect every Nth frame (track in between)")
    parser.add_argument("--conf", type=_conf, default="best",
                        help="lowest score kept, or 'best' (default): each class's own, where the deck's F1 peaked")
    parser.add_argument("--fixed-camera", action="store_true",
                        help="the camera does not move: skip measuring its motion (tracks follow a pan by default)")
    parser.add_argument("--iou", type=float, default=0.7)
    parser.add_argument("--tiles", type=_tiles, help="ROWSxCOLS or auto, for large dense frames")
    parser.add_argument("--threads", type=int, help="intra-op threads")
    parser.add_argument("--duration", type=float, help="live sources: stop after this many seconds")
    parser.add_argument("--empty-after", type=float, metavar="SECONDS",
                        help="shelf cameras: report a place that stayed empty this long, and when it is filled "
                        "again (a deck with an 'empty' class)")
    parser.add_argument("--max-lag", type=float, default=1.0, metavar="SECONDS",
                        help="live sources: how long a frame may wait for the model when it falls behind; older "
                        "frames are dropped (default 1: a busy second drops nothing; 0: the newest frame only)")
    parser.add_argument("--listen", action="store_true",
                        help="rtsp:// or tcp:// only: wait at that address for a camera or encoder to push to it")
    args = parser.parse_args(argv)
    from hub.video.live import is_live

    if is_live(args.video):
        return _live(args)
    import hub
    from hub.video import process_video

    try:
        detector = hub.load(args.repo, variant=args.variant, revision=args.revision, endpoint=args.endpoint,
                            threads=args.threads)
        report = process_video(args.video, detector, lines=args.line, zones=args.zone, out=args.out, csv=args.csv,
                               conf=args.conf, iou=args.iou, tiles=args.tiles, every=args.every,
                               moving_camera=not args.fixed_camera, empty_after=args.empty_after)
    except (InvalidVideoError, ValueError, YolodeckError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{report.frames} frames at {report.fps:g} fps in {report.seconds:.1f} s "
          f"({report.frames_per_second:.1f} frames/s, {detector.path.name})")
    _print_counts(report.lines, report.zones, report.dwell)
    for event in report.facings:
        print(_facing(event))
    for path in (report.out, report.csv):
        if path:
            print(f"wrote {path}")
    return 0


def _live(args: argparse.Namespace) -> int:
    """A live source until Ctrl-C or --duration: a status line a second, the CSV a row a second."""
    import hub
    from hub.video.live import LiveSource
    from hub.video.pipeline import check_geometry
    from hub.video.stream import process_stream

    def status(row: dict) -> None:
        counts = "  ".join(f"{k} {v}" for k, v in row.items() if k.startswith(("line", "zone")))
        print(f"\r{row['time_s']:7.1f} s  {row['state']:<12} {row['source_fps']:5.1f} fps in  "
              f"{row['processed']} done  lag {row['lag_ms']:.0f} ms  drops {row['drops']}  "
              f"reconnects {row['reconnects']}  {counts}", end="", file=sys.stderr, flush=True)

    try:
        detector = hub.load(args.repo, variant=args.variant, revision=args.revision, endpoint=args.endpoint,
                            threads=args.threads)
        source = LiveSource(args.video, listen=args.listen, max_lag=args.max_lag)
        if args.line or args.zone:  # lines and zones are checked against the first frame's size
            source.start()
            first = source.next_frame(timeout=30)
            if first is None:
                raise InvalidVideoError(f"{source.name}: no frame in 30 s ({source.status.error or 'no data'})")
            h, w = first.image.shape[:2]
            check_geometry(args.line, args.zone, w, h)
        print(f"reading {source.name} with {detector.path.name} (Ctrl-C stops)", file=sys.stderr)
        try:
            report = process_stream(source, detector, lines=args.line, zones=args.zone, conf=args.conf, iou=args.iou,
                                    tiles=args.tiles, duration=args.duration, csv=args.csv, on_second=status,
                                    moving_camera=not args.fixed_camera, empty_after=args.empty_after,
                                    on_facing=lambda e: print(f"\n{_facing(e)}", file=sys.stderr, flush=True))
        finally:
            source.stop()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 0
    except (InvalidVideoError, ValueError, YolodeckError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\n{report.frames} frames in {report.seconds:.1f} s; lag p50 {report.lag_ms['p50']:.0f} ms, p95 "
          f"{report.lag_ms['p95']:.0f} ms; {report.status['drops']} dropped, {report.status['reconnects']} reconnects")
    _print_counts(report.lines, report.zones, report.dwell)
    for gap in report.gaps:
        print(f"gap: {gap['seconds']:.1f} s without frames at {gap['at_s']:.1f} s (tracks were not carried across)")
    if args.csv:
        print(f"wrote {args.csv}")
    return 0


def _facing(e: dict) -> str:
    x1, _, x2, _ = e["box"]
    what = "empty" if e["kind"] == "empty" else f"refilled after {e['empty_s']:.0f} s"
    return f"{e['time_s']:.1f} s: facing {e['place']} (row {e['row']}, x {x1:.0f}-{x2:.0f}) {what}"


def _print_counts(lines: list[dict], zones: list[dict], dwell: list[dict]) -> None:
    for k, c in enumerate(lines, 1):
        print(f"line {k}: in {c['in']}  out {c['out']}")
    for k, (c, stay) in enumerate(zip(zones, dwell, strict=True), 1):
        stays = ", ".join(f"{n} mean {d['mean_s']:.1f} s, longest {d['max_s']:.1f} s" for n, d in stay.items()
                          if d["objects"])
        print(f"zone {k}: entered {c['entered']}" + (f"; stayed: {stays}" if stays else ""))


if __name__ == "__main__":
    raise SystemExit(main())
