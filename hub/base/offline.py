"""Offline and private by construction: the switches that keep every library from phoning home.

Importing this module (``import hub`` does) only sets environment defaults (:data:`ENV_DEFAULTS`),
never overriding what the user set, and writes nothing. The switches that need files (OpenVINO's
consent file, Ultralytics' settings and the font it would otherwise download) are written by
:func:`configure`, which every entry point (the CLIs, the apps, the Space, the tests) calls first,
and the library calls before it imports Ultralytics or OpenVINO. Each value's comment gives its reason;
``tests/hub/test_offline.py`` runs the stack with the network blocked and fails on any lookup or connect.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from hub.base import settings

ENV_DEFAULTS: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime's telemetry is native code: only this stops it
    "YOLO_OFFLINE": "1",  # ultralytics: no is_online() DNS probes, no events, no update checks
    "YOLO_AUTOINSTALL": "0",  # ultralytics: never pip-install a missing package
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GRADIO_SHARE": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_SHOW_EMAIL_PROMPT": "false",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_XET": "1",  # plain HTTP uploads/downloads; also what `hub serve` speaks
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",  # the `hf` CLI asks pypi.org for a newer version otherwise
    "DO_NOT_TRACK": "1",
}

# What Ultralytics' SettingsManager would otherwise create with sync switched on.
_ULTRALYTICS_SETTINGS = {
    "sync": False,
    "api_key": "",
    "clearml": False,
    "comet": False,
    "dvc": False,
    "hub": False,
    "mlflow": False,
    "neptune": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
    "vscode_msg": False,
    "openvino_msg": False,
}


def cache_dir() -> Path:
    """yolodeck's writable cache root: $YOLODECK_CACHE, else $XDG_CACHE_HOME/yolodeck, else ~/.cache/yolodeck.

    Falls back to a temporary directory when home is read-only (as in a Space).
    """
    base = settings.current().cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "yolodeck"
    try:
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=base):  # a probe of its own: threads ask at the same time
            pass
        return base
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "yolodeck-cache"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def _font_source() -> Path | None:
    """A TTF that ships with an installed package (matplotlib's DejaVuSans), if any."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    ttf = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ttf if ttf.is_file() else None


def _prepare_ultralytics_dir(root: Path) -> None:
    """settings.json with sync off, plus Arial.ttf / Arial.Unicode.ttf (check_font is not gated by YOLO_OFFLINE)."""
    ul = root / "Ultralytics"
    ul.mkdir(parents=True, exist_ok=True)
    settings = ul / "settings.json"
    if settings.is_file():
        try:
            current = json.loads(settings.read_text())
        except (OSError, ValueError):
            current = {}
        if any(current.get(k) != v for k, v in _ULTRALYTICS_SETTINGS.items() if k in current or k == "sync"):
            current.update(_ULTRALYTICS_SETTINGS)
            settings.write_text(json.dumps(current, indent=2))
    else:
        settings.write_text(json.dumps(_ULTRALYTICS_SETTINGS, indent=2))
    font = _font_source()
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = ul / name
        if font is not None and not target.exists():
            shutil.copyfile(font, target)


def _opt_out_openvino() -> None:
    """Write the consent file OpenVINO reads (never run its opt_in_out tool: it sends an event)."""
    consent = Path.home() / "intel" / "openvino_telemetry"
    try:
        if not consent.exists():
            consent.parent.mkdir(parents=True, exist_ok=True)
            consent.write_text("0")
    except OSError:
        os.environ.setdefault("CI", "true")  # openvino-telemetry stays silent under CI


def apply_env_defaults() -> None:
    """Set :data:`ENV_DEFAULTS` where the user has not (this process and those it starts). Writes nothing."""
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


_configured = False


def configure() -> None:
    """Everything :func:`apply_env_defaults` does, plus the switches that write files. Idempotent.

    Sets ``YOLO_CONFIG_DIR`` (a folder of yolodeck's cache with Ultralytics' settings, sync off, and
    a bundled font) and ``MPLCONFIGDIR``, and writes OpenVINO's telemetry opt-out.
    """
    global _configured
    apply_env_defaults()
    if _configured:
        return
    _configured = True
    cache = cache_dir()
    if "YOLO_CONFIG_DIR" not in os.environ:
        os.environ["YOLO_CONFIG_DIR"] = str(cache / "ultralytics-config")
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    try:
        _prepare_ultralytics_dir(Path(os.environ["YOLO_CONFIG_DIR"]))
    except OSError:
        pass
    _opt_out_openvino()


apply_env_defaults()
