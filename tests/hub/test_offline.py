"""The offline guarantee: the guard catches attempts, and our entry points make none."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import hub.base.offline


def test_guard_blocks_a_lookup_in_this_process(netguard):
    with pytest.raises(PermissionError, match="netguard"):
        socket.getaddrinfo("example.com", 443)
    lines = netguard.new_lines()  # consumed here, so this test itself passes
    assert any("example.com" in line for line in lines)


def test_guard_blocks_a_connect_in_a_subprocess(netguard):
    code = "import socket; s = socket.socket(); s.settimeout(1); s.connect(('203.0.113.7', 80))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "netguard" in proc.stderr
    assert any("203.0.113.7" in line for line in netguard.new_lines())


def test_guard_lets_loopback_through():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    server.close()


def test_offline_defaults_are_set_but_user_values_win(tmp_path):
    for key in hub.base.offline.ENV_DEFAULTS:
        assert os.environ.get(key) is not None, key
    env = {**os.environ, "YOLO_OFFLINE": "0", "GRADIO_ANALYTICS_ENABLED": "True"}
    code = "import hub, os; print(os.environ['YOLO_OFFLINE'], os.environ['GRADIO_ANALYTICS_ENABLED'], os.environ['ORT_DISABLE_TELEMETRY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "True", "1"]


def test_ultralytics_config_dir_has_sync_off_and_fonts():
    root = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    settings = json.loads((root / "settings.json").read_text())
    assert settings["sync"] is False and settings["api_key"] == ""
    for font in ("Arial.ttf", "Arial.Unicode.ttf"):
        assert (root / font).stat().st_size > 10_000


def test_openvino_consent_file_says_no():
    consent = Path.home() / "intel" / "openvino_telemetry"
    assert consent.read_text().strip() == "0" or os.environ.get("CI") == "true"


def test_ultralytics_import_and_font_check_stay_local():
    """check_font is not gated by YOLO_OFFLINE; the bundled font must satisfy it with no request."""
    code = (
        "import hub, ultralytics\n"
        "from ultralytics.utils import SETTINGS, ONLINE\n"
        "from ultralytics.utils.checks import check_font\n"
        "assert not ONLINE\n"
        "assert SETTINGS['sync'] is False\n"
        "print(check_font('Arial.ttf'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Arial.ttf" in proc.stdout
