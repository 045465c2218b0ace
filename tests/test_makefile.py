"""What the Makefile promises every command it runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_make_keeps_pythons_bytecode_cache_on_where_the_environment_turns_it_off():
    """A shell with PYTHONDONTWRITEBYTECODE=1 (as some CI images have) runs make's recipes without it, so the
    suite's and the demo's processes reuse compiled modules instead of compiling torch's and gradio's each time."""
    probe = 'probe: ; @echo "[$${PYTHONDONTWRITEBYTECODE-unset}]"; python3 -c "import sys; print(sys.dont_write_bytecode)"'
    out = subprocess.run(["make", "-s", "--no-print-directory", "--eval", probe, "probe"], cwd=REPO, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).stdout
    assert out.split() == ["[unset]", "False"]
