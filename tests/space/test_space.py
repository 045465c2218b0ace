"""The Space: valid front matter, a lean folder, a fresh torch-free venv that serves a model from `hub serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from space.build import SpaceConfigError, assemble, check_front_matter, front_matter
from tests.helpers.apps import free_port, start_server, stop

REPO = Path(__file__).resolve().parents[2]
WHEELS = REPO / "build" / "wheels-space"


def _meta(readme: Path) -> dict:
    text = readme.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("sdk", ["gradio", "docker"])
def test_front_matter_follows_the_space_config_rules(tmp_path, sdk):
    from huggingface_hub import SpaceCard

    folder = assemble(tmp_path / sdk, model="acme/tiny", revision="v1", sdk=sdk)
    meta = _meta(folder / "README.md")
    check_front_matter(meta)
    assert meta["sdk"] == sdk and meta["models"] == ["acme/tiny"] and len(meta["short_description"]) <= 60
    if sdk == "gradio":
        import gradio

        assert meta["sdk_version"] == gradio.__version__ and meta["app_file"] == "app.py"
        assert meta["python_version"] == "3.11"
    else:
        assert meta["app_port"] == 7860 and "streamlit" in (folder / "Dockerfile").read_text()
        assert "streamlit==" in (folder / "requirements.txt").read_text()
    card = SpaceCard((folder / "README.md").read_text())
    assert card.data.sdk == sdk and card.data.models == ["acme/tiny"]
    assert _meta(REPO / "space" / "README.md")["sdk_version"] == meta.get("sdk_version", _meta(REPO / "space" / "README.md")["sdk_version"])


@pytest.mark.parametrize("change, message", [
    ({"colorFrom": "teal"}, "colorFrom"), ({"sdk": "streamlit"}, "sdk must be one of"),
    ({"short_description": "x" * 61}, "60 characters"), ({"pinned": "no"}, "pinned must be a bool"),
    ({"models": ["../evil"]}, "models"), ({"sdk_version": 6}, "sdk_version must be a str"),
])
def test_bad_front_matter_is_rejected(change, message):
    meta = front_matter(model="acme/tiny") | change
    with pytest.raises(SpaceConfigError, match=message):
        check_front_matter(meta)


def test_the_space_folder_holds_only_what_it_needs(tmp_path):
    folder = assemble(tmp_path / "s", model="acme/tiny")
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"app.py", "requirements.txt", "README.md", "space_config.json", "apps/gradio_app/app.py"} <= files
    assert not any(f.startswith(("training/", "tests/")) or f in ("hub/server/app.py", "apps/dashboard.py")
                   or f.startswith("hub/cli/") for f in files)
    pins = [line.split("==")[0] for line in (folder / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert "onnxruntime" in pins and not {"torch", "torchvision", "ultralytics"} & set(pins)


@pytest.mark.skipif(not WHEELS.is_dir(), reason="needs build/wheels-space (made by `make install`)")
@pytest.mark.timeout(900)
def test_a_wheel_in_a_fresh_venv_builds_a_space_that_serves_a_model(served, tiny_deck, tmp_path):
    """Install yolodeck's wheel with the Space's lean set into a fresh venv (offline, local wheels; uv where
    `make install` put it, else pip), then `hub space build`
    away from the checkout: the Space's files come from the installed package, and the Space serves."""
    from gradio_client import Client, handle_file

    import hub

    url, _, _ = served
    hub.push(tiny_deck, repo="acme/tiny", tag="v1", endpoint=url)
    # the wheel from the checkout's own files only (tracked, or new and not ignored): setuptools builds in <source>/build/lib and packs whatever an
    # earlier build left there (a module since moved or deleted would ride along)
    source, wheels = tmp_path / "source", tmp_path / "wheel"
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "-w", str(wheels), str(source)], check=True, timeout=300,
                   capture_output=True)
    packed = zipfile.ZipFile(next(wheels.glob("yolodeck-*.whl"))).namelist()
    assert sorted(n for n in packed if n.endswith(".py")) == sorted(
        n for n in tracked.decode().split("\0") if n.endswith(".py") and n.split("/")[0] in ("apps", "hub", "space",
                                                                                          "training"))
    venv = tmp_path / "venv"
    py = str(venv / "bin" / "python")
    # only the network guard on the path: not the checkout (pip would take its egg-info for an install)
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests" / "netguard"), "YOLODECK_CACHE": str(tmp_path / "space-cache"),
           "HF_HOME": str(tmp_path / "space-hf")}
    uv = Path(sys.executable).with_name("uv")  # what `make install` installs with: the same wheels, in seconds
    if uv.is_file():
        subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
        pip = [str(uv), "pip", "install", "-q", "--python", py, "--no-index", "--find-links", str(WHEELS)]
    else:  # pip, as a Space's own build runs it (about 30 s more here)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links",
               str(WHEELS)]
    subprocess.run([*pip, "-r", str(REPO / "space" / "requirements.txt")], check=True, timeout=600, env=env)
    subprocess.run([*pip, "--no-deps", *map(str, wheels.glob("yolodeck-*.whl"))], check=True, timeout=120, env=env)
    probe = subprocess.run([py, "-c", "import importlib.util as u, hub; print(u.find_spec('torch') is None, "
                            "u.find_spec('ultralytics') is None, 'site-packages' in hub.__file__)"],
                           capture_output=True, text=True, check=True, env=env, cwd=tmp_path)
    assert probe.stdout.split() == ["True", "True", "True"]
    away = tmp_path / "elsewhere"
    away.mkdir()
    subprocess.run([str(venv / "bin" / "hub"), "space", "build", "--model", "acme/tiny", "--revision", "v1",
                    "--endpoint", url, "--out", "space"], cwd=away, env=env, check=True, timeout=120)
    folder = away / "space"
    assert (folder / "app.py").read_bytes() == (REPO / "space" / "app.py").read_bytes()
    assert (folder / "apps" / "gradio_app" / "app.py").is_file() and not (folder / "hub" / "cli").exists()
    port = free_port()
    env |= {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    proc = subprocess.Popen([py, "app.py"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        start_server([], port, env, timeout=180, proc=proc)
        client = Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False)
        shelf = sorted((tiny_deck.parent / "tiny-shelves" / "images" / "test").iterdir())[0]
        _, backend, precision, *_ = client.predict("acme/tiny", "v1", api_name="/deck")
        assert {c[1] for c in backend["choices"]} == {"onnxruntime", "tflite"}  # only what is installed
        out = client.predict(handle_file(str(shelf)), "acme/tiny", "v1", backend["value"], precision["value"], 0.25,
                             0.7, 256, [], api_name="/detect")
        assert len(out[1]["data"]) > 5
    finally:
        stop(proc)


def test_hub_space_push_lands_a_space_that_hub_ls_shows(served, tiny_deck, tmp_path):
    from huggingface_hub import HfApi

    import hub

    url, _, _ = served
    hub.push(tiny_deck, repo="acme/tiny", endpoint=url)
    run = subprocess.run([sys.executable, "-m", "hub.cli", "space", "push", "--repo", "acme/tiny-space", "--model",
                          "acme/tiny", "--endpoint", url], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    listing = subprocess.run([sys.executable, "-m", "hub.cli", "ls", "--type", "space", "--endpoint", url],
                             capture_output=True, text=True, check=True).stdout
    assert "acme/tiny-space" in listing
    pinned = hub.resolve("acme/tiny", endpoint=url)
    expected = assemble(tmp_path / "expected", model="acme/tiny", revision=pinned, endpoint=url)
    files = HfApi(endpoint=url).list_repo_files("acme/tiny-space", repo_type="space")
    local = {p.relative_to(expected).as_posix(): p.read_bytes() for p in expected.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(local)
    info = HfApi(endpoint=url).space_info("acme/tiny-space")
    assert info.sdk == "gradio"
