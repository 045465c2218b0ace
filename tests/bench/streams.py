"""``make bench-streams``: lag and throughput on a live stream, ours against Ultralytics' ``predict(stream=True)``.

ffmpeg serves a shelf-pan clip as MPEG-TS over TCP on loopback (Ultralytics reads rtsp, rtmp, http and tcp URLs
as streams, not udp) at its own rate (-re), at 15 and 30 fps. Every frame carries its index as 16 black or white
squares along its top edge, so whichever program processes a frame reads which one it is. The sender's clock
starts when the reader connects, so a result's lag is measured against the run's quickest one: the time it came
out minus ``index / fps``, less the smallest such value in the run (what transport and decoding cost at best);
a lag that grows shows in the trend column whatever the zero. Both run the
demo deck's onnx-fp32 file at its own input size on the same stream, one after the other; then ours with 1, 2
and 4 streams at once (a one-thread detector per stream). Ratios are measured in one run; name the CPU with them.

    python -m tests.bench.streams [--seconds 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from hub.deck.probe import cpu

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "bench-streams"
BITS, SQUARE = 16, 12  # the index code: 16 squares of 12 px along the top edge


def stamp(frame: np.ndarray, index: int) -> np.ndarray:
    out = frame.copy()
    for b in range(BITS):
        out[:SQUARE, b * SQUARE:(b + 1) * SQUARE] = 255 if index >> b & 1 else 0
    return out


def read_index(frame: np.ndarray) -> int:
    """The index a frame carries (RGB or BGR alike: the squares are grey)."""
    cells = frame[2:SQUARE - 2, :BITS * SQUARE].reshape(SQUARE - 4, BITS, SQUARE, -1)[:, :, 2:-2].mean(axis=(0, 2, 3))
    return int(sum(1 << b for b in range(BITS) if cells[b] > 127))


def indexed_clip(fps: int, seconds: float) -> Path:
    """The pan clip, looped to ``seconds`` at ``fps``, each frame stamped; MPEG-TS, high quality (made once)."""
    import av

    from training.data.synth_pan import generate

    path = WORK / f"indexed-{fps}.ts"
    if path.is_file():
        return path
    pan = generate(WORK / "pan", width=640, height=480, shelf_width=1280, step=6)
    with av.open(str(pan)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("mpeg2video", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"qscale": "2", "g": str(fps)}
        stream.codec_context.qmax = 2
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(stamp(frames[i % len(frames)], i), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def send(clip: Path, port: int) -> subprocess.Popen:
    """ffmpeg serving ``clip`` at its own rate to the first client that connects to ``port``."""
    proc = subprocess.Popen([shutil.which("ffmpeg"), "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip),
                             "-c", "copy", "-f", "mpegts", f"tcp://127.0.0.1:{port}?listen=1"])
    time.sleep(0.5)  # listening
    return proc


def ours(path: Path, clip: Path, fps: int, seconds: float, threads: int = 2) -> list[float]:
    """Our reader (newest frame) and detector on a stream of ``clip``; the lag of every result."""
    from hub.runtime import Detector
    from hub.video.live import LiveSource
    from tests.helpers.apps import free_port

    det = Detector(path, threads=threads)
    port = free_port()
    lags = []
    sender = send(clip, port)
    with LiveSource(f"tcp://127.0.0.1:{port}", read_timeout=5, max_lag=0) as live:  # newest only, as LoadStreams
        try:
            for frame in live.frames(duration=seconds):
                det.detect(frame.image, conf=0.25)
                lags.append(time.monotonic() - read_index(frame.image) / fps)
        finally:
            sender.kill()
            sender.wait()
    return lags


def theirs(path: Path, clip: Path, fps: int, seconds: float) -> list[float]:
    """Ultralytics' ``predict(source=URL, stream=True)`` on the same stream and file."""
    from ultralytics import YOLO

    from tests.helpers.apps import free_port

    model = YOLO(str(path), task="detect")
    port = free_port()
    sender = send(clip, port)
    lags, end = [], time.monotonic() + seconds
    try:
        for result in model.predict(source=f"tcp://127.0.0.1:{port}", stream=True, conf=0.25, verbose=False):
            lags.append(time.monotonic() - read_index(result.orig_img) / fps)
            if time.monotonic() > end:
                break
    finally:
        sender.kill()
        sender.wait()
    return lags


def summary(lags: list[float], seconds: float) -> str:
    a = np.array(lags or [0.0])
    a = (a - a.min())[5:] * 1e3 if len(a) > 5 else np.zeros(1)  # against the run's quickest result
    half = len(a) // 2
    trend = np.median(a[half:]) - np.median(a[:half]) if half else 0.0
    return (f"{len(lags) / seconds:6.1f} {np.percentile(a, 50):8.0f} {np.percentile(a, 95):8.0f} "
            f"{trend:+9.0f}")


def run_streams(model: Path, clip: Path, streams: int, seconds: float) -> list[list[float]]:
    """``streams`` streams at once, each read and run by its own one-thread detector."""
    results: list[list[float]] = [[] for _ in range(streams)]

    def one(k: int) -> None:
        results[k].extend(ours(model, clip, 15, seconds, threads=1))

    workers = [threading.Thread(target=one, args=(k,)) for k in range(streams)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def deck_file() -> Path:
    from training.demo import build_demo_deck

    deck = WORK / "deck"
    if not (deck / "manifest.json").is_file():
        build_demo_deck(deck, variants=["onnx-fp32"])
    return deck / "model-fp32.onnx"


def main() -> None:
    import hub.base.offline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    hub.base.offline.configure()
    WORK.mkdir(parents=True, exist_ok=True)
    model = deck_file()
    print(f"CPU: {cpu()}, 2 cores; model {model.name}; {args.seconds:g} s a run")
    print(f"{'who':<12} {'fps in':>6} {'streams':>7} {'done/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'trend ms':>9}")
    for fps in (15, 30):
        clip = indexed_clip(fps, args.seconds + 15)
        for who, run in (("yolodeck", ours), ("ultralytics", theirs)):
            lags = run(model, clip, fps, args.seconds)
            print(f"{who:<12} {fps:>6} {1:>7} {summary(lags, args.seconds)}", flush=True)
    clip = indexed_clip(15, args.seconds + 15)
    for streams in (2, 4):
        results = run_streams(model, clip, streams, args.seconds)
        every = [lag for r in results for lag in (np.array(r) - min(r)).tolist()]  # each stream's own zero
        print(f"{'yolodeck':<12} {15:>6} {streams:>7} {summary(every, args.seconds)}  (all streams together)",
              flush=True)
    print("done/s: results a second; p50/p95: a result's lag (out minus the frame's place in the sender's schedule) "
          "over the run's quickest; trend: median lag of the run's second half minus its first (a lag that grows "
          "with time shows here)")


if __name__ == "__main__":
    main()
