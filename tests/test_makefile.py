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


def test_make_test_installs_what_the_tests_need_side_by_side_before_pytest():
    """apt, npm, the client venvs and the Space's wheels are independent: `make test` (and `make test-all`) hand
    them to one make with several jobs, then run pytest (a dry run shows the order and the jobs)."""
    for target in ("test", "test-all"):
        lines = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.splitlines()
        installs = next(i for i, line in enumerate(lines) if "install-system" in line)
        words = lines[installs].split()
        assert any(w.startswith("-j") and w[2:].isdigit() and int(w[2:]) >= 4 for w in words), lines[installs]
        assert {"install-system", "install-web", "install-clients", "build/wheels-space/.stamp"} <= set(words)
        assert installs < next(i for i, line in enumerate(lines) if "-m pytest" in line)
