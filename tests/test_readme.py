"""The README's flow section, run as written: every fenced bash and Python block, in order, in a fresh folder
with an empty home, the only changes being a tiny dataset and one epoch where they train.

The rewrites (and nothing else) are listed in ``SHRINK``; a line they do not touch runs verbatim, so a
renamed flag, a missing command or a wrong path in the README fails here.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.datasets import write_sku110k_release

README = Path(__file__).resolve().parents[1] / "README.md"
SHRINK = [  # (pattern, replacement): smaller data and training, the same commands
    (r"(data synth-\w+ --out \S+)", r"\1 --train 8 --val 4 --test 4"),
    (r"--epochs \d+", "--epochs 1"),
    (r"--imgsz \d+", "--imgsz 128"),
    (r"^(python -m training (train|sweep) .*)$", r"\1 --batch 4 --set workers=0"),
    (r"^(python -m training deck .*)$", r"\1 --variants onnx-fp32 tflite-int8 --calibration 4 --examples 0"),
]


def flow_blocks(text: str, section: str = "The flow") -> list[tuple[str, str]]:
    """(language, code) of each fenced block under '## ``section``', up to the next section; the unlabelled
    diagram is not code."""
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [(lang, code) for lang, code in re.findall(r"```(\w*)\n(.*?)```", body, re.S) if lang]


def shrink(bash: str) -> str:
    lines = bash.replace("\\\n", " ").splitlines()  # one command per line
    out = []
    for line in lines:
        for pattern, replacement in SHRINK:
            line = re.sub(pattern, replacement, line, flags=re.M)
        out.append(line)
    return "\n".join(out) + "\n"


def test_the_flow_section_has_the_commands_this_test_runs():
    blocks = flow_blocks(README.read_text())
    assert [lang for lang, _ in blocks] == ["bash", "python"]
    bash = blocks[0][1]
    for command in ("training data synth-shelves", "training train", "training deck", "hub push", "hub pull",
                    "training sweep"):
        assert command in bash


@pytest.mark.slow  # trains four tiny models and builds their decks (about 3 min): make test-all
def test_the_readme_flow_runs_as_written(tmp_path):

    blocks = flow_blocks(README.read_text())
    work, home = tmp_path / "clone", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    os.symlink(Path(sys.prefix), work / ".venv")  # what `make install` made, in the clone
    write_sku110k_release(work / "SKU110K_fixed")  # the release's layout, in miniature (the real one is 14 GB)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLODECK_", "HF_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"/usr/bin:/bin:{os.environ.get('PATH', '')}")
    script = "set -eo pipefail\n" + shrink(blocks[0][1])
    run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, f"{script}\n--- stderr ---\n{run.stderr[-3000:]}"
    pulled = [Path(line) for line in run.stdout.splitlines() if line.endswith("model-int8.tflite")]  # `hub pull`
    assert len(pulled) == 1 and pulled[0].is_file(), run.stdout[-2000:]
    assert "acme/shelves" in run.stdout and "tflite-int8" in run.stdout  # `hub show`
    rows = list(csv.DictReader((work / "build" / "sweep" / "summary.csv").open()))
    assert [(r["width"], r["variant"]) for r in rows] == [(w, v) for w in ("0.25", "0.125", "0.0625")
                                                          for v in ("onnx-fp32", "tflite-int8")]
    assert (work / "build" / "sku" / "data.yaml").is_file()

    shutil.copy(sorted((work / "build" / "shelves" / "images" / "test").iterdir())[0], work / "shelf.jpg")
    python = blocks[1][1] + "\nprint(detections.counts(), len(detections.to_json()), len(detections.to_csv()))\n"
    run = subprocess.run([str(work / ".venv" / "bin" / "python"), "-c", python], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1].startswith("{")


@pytest.mark.slow  # trains a tiny model and builds its deck (about 2 min): make test-all
def test_the_own_data_section_runs_as_written(tmp_path):
    """'Your own data' from a labelling tool's COCO export (made here from a generated set with supervision, as a
    tool would write it) to predictions in Label Studio's format, every command as the README gives it."""
    import json

    import supervision as sv

    from training.data import synth_shelves

    (bash,) = [code for lang, code in flow_blocks(README.read_text(), "Your own data") if lang == "bash"]
    work, home = tmp_path / "clone", tmp_path / "home"
    for d in (work / "exports", home, work / "new-photos"):
        d.mkdir(parents=True)
    made = synth_shelves.generate(tmp_path / "made", train=12, val=4, test=4, width=256, height=256, rows=(2, 3),
                                  product_width=(0.08, 0.14), seed=5, progress=False).parent
    exported = sv.DetectionDataset.from_yolo(str(made / "images" / "train"), str(made / "labels" / "train"),
                                             str(made / "data.yaml"))
    exported.as_coco(str(work / "exports" / "shelves-coco" / "images"),
                     str(work / "exports" / "shelves-coco" / "annotations.json"))
    for photo in sorted((made / "images" / "test").iterdir())[:3]:
        shutil.copy(photo, work / "new-photos" / photo.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLODECK_", "HF_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin")
    script = "set -eo pipefail\n" + shrink(bash)
    run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, f"{script}\n--- stderr ---\n{run.stderr[-3000:]}"
    assert json.loads((work / "build" / "mine" / "check.json").read_text())
    tasks = json.loads(next((work / "build" / "preds").glob("*.json")).read_text())
    assert len(tasks) == 3 and all(t["predictions"][0]["model_version"].startswith("acme/mine") for t in tasks)
