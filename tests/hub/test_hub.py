"""Model repos: the embedded store and `hub serve`, driven by the real huggingface_hub client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hub
from hub.base.errors import (
    ConcurrentPushError,
    IntegrityError,
    InvalidRepoIdError,
    ManifestError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    VariantNotFoundError,
)
from hub.deck.manifest import Manifest
from hub.store.local import AddFile, LocalStore
from tests.helpers.decks import make_deck


def test_real_client_round_trip(served, tiny_deck, tmp_path, monkeypatch):
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    url, _, proc = served
    api = HfApi(endpoint=url)
    api.create_repo("acme/shelves")
    api.create_repo("acme/shelves", exist_ok=True)
    v1 = make_deck(tiny_deck, tmp_path / "v1", ["onnx-fp32", "onnx-int8"], model="shelves")
    v2 = make_deck(tiny_deck, tmp_path / "v2", ["onnx-fp32", "tflite-int8"], model="shelves")
    first = hub.push(v1, repo="acme/shelves", tag="v1", endpoint=url)
    second = hub.push(v2, repo="acme/shelves", tag="v2", endpoint=url, message="second deck")

    refs = api.list_repo_refs("acme/shelves")
    assert {t.name: t.target_commit for t in refs.tags} == {"v1": first.commit, "v2": second.commit}
    assert [b.name for b in refs.branches] == ["main"] and refs.branches[0].target_commit == second.commit
    commits = api.list_repo_commits("acme/shelves")
    assert [c.commit_id for c in commits[:2]] == [second.commit, first.commit] and commits[0].title == "second deck"
    assert set(api.list_repo_files("acme/shelves", revision="v1")) == {"manifest.json", "README.md",
                                                                        "model-fp32.onnx", "model-int8.onnx"}
    assert "model-int8.onnx" not in api.list_repo_files("acme/shelves")  # v2 replaced the whole deck
    info = api.model_info("acme/shelves", revision="v1")
    assert info.sha == first.commit
    api.create_tag("acme/shelves", tag="stable", revision=first.commit)
    assert api.file_exists("acme/shelves", "model-int8.onnx", revision="stable")

    path = hf_hub_download("acme/shelves", "manifest.json", revision="v1", endpoint=url)
    assert json.loads(Path(path).read_text())["model"] == "shelves"
    snap = Path(snapshot_download("acme/shelves", revision="v1", endpoint=url))
    assert (snap / "model-int8.onnx").read_bytes() == (v1 / "model-int8.onnx").read_bytes()

    pulled = hub.pull("acme/shelves", revision="v1", variant="onnx-int8", endpoint=url)
    assert (pulled / "model-int8.onnx").read_bytes() == (v1 / "model-int8.onnx").read_bytes()
    assert not (pulled / "model-fp32.onnx").exists()  # a single variant was asked for
    det = hub.load("acme/shelves", revision="v2", backend="tflite", precision="int8", endpoint=url)
    assert det.backend == "tflite" and det.names == ["product"]

    out = subprocess.run([sys.executable, "-m", "hub.cli", "show", "acme/shelves", "--revision", "v1",
                          "--endpoint", url], capture_output=True, text=True, check=True).stdout
    assert "| onnx-int8 |" in out and "tags: stable, v1, v2" in out
    assert f"down to {Manifest.read(v1).objects.min_px:.1f} px" in out  # the size tiles="auto" aims for
    out = subprocess.run([sys.executable, "-m", "hub.cli", "ls", "--endpoint", url], capture_output=True,
                         text=True, check=True).stdout
    assert "acme/shelves" in out

    proc.terminate()  # the hub goes away: what was pulled stays usable
    proc.wait(timeout=20)
    again = hub.pull("acme/shelves", revision="v1", variant="onnx-int8", endpoint=url)
    assert again == pulled
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.load("acme/shelves", revision="v1", variant="onnx-int8", endpoint=url).backend == "onnxruntime"


def test_embedded_hub_cli_round_trip(tiny_deck, tmp_path):
    env = {**os.environ, "YOLODECK_HUB": str(tmp_path / "hub"), "YOLODECK_CACHE": str(tmp_path / "cache")}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True, text=True,
                              check=True).stdout

    assert "pushed acme/tiny@" in cli("push", str(tiny_deck), "--repo", "acme/tiny", "--tag", "v1")
    path = Path(cli("pull", "acme/tiny", "--backend", "tflite", "--precision", "int8").strip())
    assert path.name == "model-int8.tflite" and path.stat().st_size == Manifest.read(tiny_deck).variant("tflite-int8").bytes
    folder = Path(cli("pull", "acme/tiny", "--revision", "v1", "--local-dir", str(tmp_path / "all")).strip())
    Manifest.read(folder).verify(folder)
    assert (folder / "README.md").read_text().count("hub pull acme/tiny") == 1
    assert "acme/tiny" in cli("ls")
    bad = subprocess.run([sys.executable, "-m", "hub.cli", "pull", "acme/tiny", "--variant", "tensorrt-int8"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "available: pt, torchscript" in bad.stderr and "Traceback" not in bad.stderr


def test_a_tampered_file_is_refused(served, tiny_deck, tmp_path):
    url, root, _ = served
    deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32"])
    hub.push(deck, repo="acme/t", endpoint=url)
    sha = Manifest.read(deck).variant("onnx-fp32").sha256
    blob = root / "objects" / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[1000] ^= 0xFF  # same size, different bytes
    blob.write_bytes(bytes(data))
    target = tmp_path / "pulled"
    with pytest.raises(IntegrityError, match="sha256"):
        hub.pull("acme/t", variant="onnx-fp32", endpoint=url, local_dir=target)
    assert not (target / "model-fp32.onnx").exists()


def test_a_deck_whose_files_do_not_match_its_manifest_is_not_pushed(tiny_deck, tmp_path):
    deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32"])
    with open(deck / "model-fp32.onnx", "ab") as fh:
        fh.write(b"x")
    store = LocalStore(tmp_path / "hub")
    with pytest.raises(IntegrityError, match="bytes"):
        hub.push(deck, repo="acme/t", endpoint=str(store.root))
    assert not store.repo_exists("acme/t")


def test_variants_sharing_a_file_push_it_once_and_load_with_their_own_backend(tiny_deck, tmp_path):
    deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-int8", "openvino-int8"])
    store = LocalStore(tmp_path / "hub")
    hub.push(deck, repo="acme/shared", endpoint=str(store.root))
    assert sorted(p for p in store.tree("acme/shared") if p.endswith(".onnx")) == ["model-int8.onnx"]
    ov = hub.load("acme/shared", variant="openvino-int8", endpoint=str(store.root))
    ort = hub.load("acme/shared", variant="onnx-int8", endpoint=str(store.root))
    assert (ov.backend, ort.backend) == ("openvino", "onnxruntime") and ov.path == ort.path
    objects = Manifest.read(deck).objects  # what detect(tiles="auto") tiles to, as the deck measured it
    assert objects is not None and ov.min_object_px == ort.min_object_px == objects.min_px
    raw = json.loads((deck / "manifest.json").read_text())
    raw["variants"][1]["sha256"] = "0" * 64
    with pytest.raises(ManifestError, match="share model-int8.onnx but disagree"):
        Manifest.from_dict(raw)


def test_concurrent_pulls_of_one_file_all_succeed(tiny_deck, tmp_path):
    """Two app users (or two variants sharing a file) pulling at once must not trip over each other's copy."""
    import threading

    deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32", "openvino-fp32"], model=f"race-{tmp_path.name}")
    store = LocalStore(tmp_path / "hub")
    hub.push(deck, repo="acme/race", endpoint=str(store.root))  # a new commit: nothing of it in the cache yet
    errors, folders = [], []

    def pull(variant: str) -> None:
        try:
            folders.append(hub.pull("acme/race", variant=variant, endpoint=str(store.root)))
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=pull, args=(v,)) for v in ["onnx-fp32", "openvino-fp32"] * 4]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    assert len(set(folders)) == 1
    Manifest.read(folders[0]).verify(folders[0])
    assert not list(folders[0].glob(".*.part"))  # no temp copies left behind


def test_path_traversal_and_bad_names_are_refused(served, tiny_deck, tmp_path):
    import httpx

    url, root, _ = served
    store = LocalStore(tmp_path / "hub")
    store.create_repo("acme/x")
    for bad in ("../evil", "/etc/passwd", "a/../../b", "a\\b"):
        with pytest.raises(InvalidRepoIdError):
            store.commit("acme/x", [AddFile(bad, b"x")], message="m")
    for bad in ("acme/../x", "../x", "acme/x/y", "a--b/x", ""):
        with pytest.raises(InvalidRepoIdError):
            store.create_repo(bad)
    manifest = json.loads((tiny_deck / "manifest.json").read_text())
    manifest["variants"][0]["file"] = "../../etc/passwd"
    with pytest.raises(ManifestError, match="safe relative path"):
        Manifest.from_dict(manifest)
    # over HTTP: a commit naming a path outside the repo is a 400, and nothing lands
    httpx.post(f"{url}/api/repos/create", json={"name": "x", "organization": "acme"}).raise_for_status()
    body = "\n".join([json.dumps({"key": "header", "value": {"summary": "evil"}}),
                      json.dumps({"key": "file", "value": {"path": "../../evil", "content": "eA==", "encoding": "base64"}})])
    r = httpx.post(f"{url}/api/models/acme/x/commit/main", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 400
    assert LocalStore(root).tree("acme/x") == {}
    assert not list(root.rglob("evil"))


def test_missing_repo_revision_variant_and_manifest_are_clear_errors(served, tiny_deck, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    url, _, _ = served
    with pytest.raises(RepositoryNotFoundError):
        hub.pull("acme/none", endpoint=url)
    deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32"])
    hub.push(deck, repo="acme/one", endpoint=url)
    with pytest.raises(RevisionNotFoundError):
        hub.pull("acme/one", revision="v9", endpoint=url)
    with pytest.raises(VariantNotFoundError, match="available: onnx-fp32"):
        hub.pull("acme/one", variant="tflite-int8", endpoint=url)
    with pytest.raises(VariantNotFoundError, match="no tflite/int8"):
        hub.load("acme/one", backend="tflite", precision="int8", endpoint=url)
    api = HfApi(endpoint=url)
    api.create_repo("acme/plain")
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="notes.txt", repo_id="acme/plain")
    with pytest.raises(ManifestError, match="not a yolodeck deck"):
        hub.pull("acme/plain", endpoint=url)
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.model_info("acme/none")
    with pytest.raises(hf_errors.RevisionNotFoundError):
        api.list_repo_files("acme/one", revision="nope")


@pytest.mark.parametrize("where", ["while storing files", "just before the branch moves"])
def test_an_interrupted_push_leaves_the_previous_revision_intact(tiny_deck, tmp_path, monkeypatch, where):
    import hub.store.commits as commits

    store = LocalStore(tmp_path / "hub")
    first = hub.push(make_deck(tiny_deck, tmp_path / "a", ["onnx-fp32"]), repo="acme/r", endpoint=str(store.root))
    before = store.tree("acme/r")
    calls = {"n": 0}
    if where == "while storing files":
        real = LocalStore._store_blob

        def flaky(self, *args):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            return real(self, *args)

        monkeypatch.setattr(LocalStore, "_store_blob", flaky)
    else:
        real_write = commits.write_atomic

        def flaky_write(path, data):
            if path.parent.name == "heads":
                raise KeyboardInterrupt
            real_write(path, data)

        monkeypatch.setattr(commits, "write_atomic", flaky_write)
    second = make_deck(tiny_deck, tmp_path / "b", ["onnx-fp32", "onnx-int8", "tflite-int8"])
    with pytest.raises(KeyboardInterrupt):
        hub.push(second, repo="acme/r", endpoint=str(store.root))
    assert store.resolve("acme/r") == first.commit and store.tree("acme/r") == before
    monkeypatch.undo()
    hub.pull("acme/r", endpoint=str(store.root), local_dir=tmp_path / "check")  # still pullable
    third = hub.push(second, repo="acme/r", endpoint=str(store.root))  # and the lock was released
    assert store.resolve("acme/r") == third.commit and "model-int8.tflite" in store.tree("acme/r")


def test_concurrent_pushes_serialize_and_lose_nothing(tiny_deck, tmp_path):
    root = tmp_path / "hub"
    store = LocalStore(root)
    store.create_repo("acme/c")
    decks = [make_deck(tiny_deck, tmp_path / f"d{i}", ids, model=f"m{i}")
             for i, ids in enumerate((["onnx-fp32", "onnx-fp16"], ["tflite-fp32", "tflite-int8"]))]
    env = {**os.environ, "YOLODECK_HUB": str(root)}
    procs = [subprocess.Popen([sys.executable, "-m", "hub.cli", "push", str(d), "--repo", "acme/c"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in decks]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(rc == 0 for _, _, rc in results), results
    commits = store.list_commits("acme/c")
    assert len(commits) == 3  # initial + both pushes
    for c in commits[:2]:  # each commit is exactly one whole deck
        tree = store.tree("acme/c", revision=c["id"])
        m = json.loads(store.fetch("acme/c", "manifest.json", revision=c["id"]).read_text())
        assert set(tree) == {"manifest.json", "README.md", *(v["file"] for v in m["variants"])}
    head = store.resolve("acme/c")
    with pytest.raises(ConcurrentPushError):
        store.commit("acme/c", [AddFile("x.txt", b"x")], message="stale", parent_commit=commits[1]["id"])
    assert store.resolve("acme/c") == head
    # threads in one process, too
    errors: list[Exception] = []

    def push(i: int) -> None:
        try:
            store.commit("acme/c", [AddFile(f"t{i}.txt", str(i).encode())], message=f"t{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and {f"t{i}.txt" for i in range(8)} <= set(store.tree("acme/c"))


@pytest.mark.hf
@pytest.mark.skipif(not os.environ.get("YOLODECK_TEST_HF"), reason="set YOLODECK_TEST_HF=1 and HF_TOKEN to run")
def test_huggingface_co(tiny_deck, tmp_path):  # pragma: no cover - needs network and a token
    from huggingface_hub import HfApi

    api = HfApi()
    user = api.whoami()["name"]
    repo = f"{user}/yolodeck-test-{int(time.time())}"
    try:
        hub.push(make_deck(tiny_deck, tmp_path / "d", ["onnx-int8"]), repo=repo, private=True, tag="v1",
                 endpoint="https://huggingface.co")
        path = hub.pull(repo, variant="onnx-int8", revision="v1", endpoint="https://huggingface.co")
        assert (path / "model-int8.onnx").is_file()
    finally:
        api.delete_repo(repo, missing_ok=True)
