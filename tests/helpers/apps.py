"""Shared by the app tests: a demo hub, a running app server, headless Chromium, a fake camera."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-features=NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
NOT_LOOPBACK = re.compile(r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?:[:/]|$))[a-z]+://")
ARTIFACTS = Path(os.environ.get("YOLODECK_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))


def plotly_values(array) -> list:
    """A Plotly trace's numbers (Plotly >= 6 writes numeric arrays as base64 'bdata')."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float, poll: float = 0.05) -> bool:
    """Whether ``pred()`` came true within ``timeout`` seconds, asked every ``poll`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(poll)
    return False


def start_server(cmd: list[str], port: int, env: dict, *, timeout: float = 120,
                 proc: subprocess.Popen | None = None) -> subprocess.Popen:
    """Start ``cmd`` (or watch an already started ``proc``) until something listens on ``port``."""
    if proc is None:
        logs = ARTIFACTS / "servers"  # one log per server started, kept with the other test artifacts
        if ARTIFACTS.parent.is_dir():
            logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / f"server-{port}.log", "w") if ARTIFACTS.parent.is_dir() else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(cmd)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError(f"{' '.join(cmd)} did not listen on {port}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def app_env(hub_root: Path, cache: Path) -> dict:
    return {**os.environ, "YOLODECK_HUB": str(hub_root), "YOLODECK_CACHE": str(cache),
            "GRADIO_TEMP_DIR": str(cache / "gradio")}


def gradio_app(repo: str, hub_root: Path, cache: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start_server([sys.executable, "-m", "apps.gradio_app", "--repo", repo, "--port", str(port), "--threads", "2"],
                        port, {**app_env(hub_root, cache), **env})
    return proc, f"http://127.0.0.1:{port}/"


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """A Y4M video (what Chromium's fake camera reads) from RGB frames, without ffmpeg."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            fh.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def launch_browser(playwright, *, camera: Path | None = None):
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera}"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    if camera is not None:
        context.grant_permissions(["camera"])
    # abort anything not on loopback; the pattern is matched in the driver, so loopback requests
    # (every webcam frame) never wait on this Python process
    context.route(NOT_LOOPBACK, lambda route: route.abort())
    return browser, context


def near_misses(secret: str) -> dict[str, str]:
    """Strings that are not ``secret`` but share most of it: what a token check must refuse (named for messages)."""
    middle = len(secret) // 2
    return {
        "one character": secret[:1],
        "half": secret[:middle],
        "all but the last character": secret[:-1],
        "one character more": secret + "x",
        "twice": secret + secret,
        "upper case": secret.upper() if secret.upper() != secret else secret.lower(),
        "a space inside": f"{secret[:middle]} {secret[middle:]}",
        "a space instead of a character": f"{secret[:middle]} {secret[middle + 1:]}",
    }


def held_pan(folder: Path, *, hold_end: float = 0.0) -> tuple[Path, int]:
    """A 640 x 480 pan at 24 px a frame and 15 fps (two such live streams fit 2 busy cores), its first frame held
    3 s so that a live reader has connected before the products move, and its last ``hold_end`` s: (the clip,
    the products crossing a vertical line)."""
    import json

    from training.data.synth_pan import generate

    clip = generate(folder / "pan", width=640, height=480, shelf_width=1280, step=24, rows=(3, 5),
                    product_width=(0.0125, 0.03), fps=15, seed=3)
    pad = "tpad=start_duration=3:start_mode=clone" + (f":stop_duration={hold_end:g}:stop_mode=clone" if hold_end else "")
    held = folder / "held.mp4"  # made beforehand: a filter on the live sender would send the held frames in one burst
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-vf",
                    pad, "-c:v", "libx264", "-crf", "16", str(held)], check=True)
    return held, json.loads((clip.parent / "meta.json").read_text())["products"]
