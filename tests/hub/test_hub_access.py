"""`hub serve` access and hostile input, through the real huggingface_hub client, the real `hf` CLI and
raw HTTP: who may list, read, download, upload, create, tag and delete; bodies and paths that must be
refused with a 4xx and change nothing; a full disk."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hub.store.local import AddFile, LocalStore
from tests.helpers.apps import free_port, near_misses, start_server, stop

TOKENS = ("none", "read", "write", "wrong", "revoked", "other namespace")
ACTIONS = ("list", "info", "download", "upload", "create repo", "tag", "delete")
# what each token may do to a public and to a private repo of namespace acme
EXPECTED = {
    "public": {
        "none": ("listed", "ok", "ok", 401, 401, 401, 401),
        "read": ("listed", "ok", "ok", 403, 403, 403, 403),
        "write": ("listed", "ok", "ok", "ok", "ok", "ok", "ok"),
        "wrong": (401, 401, 401, 401, 401, 401, 401),
        "revoked": (401, 401, 401, 401, 401, 401, 401),
        "other namespace": ("listed", "ok", "ok", 403, 403, 403, 403),
    },
    "private": {
        "none": ("absent", 404, 404, 404, 401, 404, 404),
        "read": ("listed", "ok", "ok", 403, 403, 403, 403),
        "write": ("listed", "ok", "ok", "ok", "ok", "ok", "ok"),
        "wrong": (401, 401, 401, 401, 401, 401, 401),
        "revoked": (401, 401, 401, 401, 401, 401, 401),
        "other namespace": ("absent", 404, 404, 404, 403, 404, 404),
    },
}


ENV_SECRET = "env-serve-token-2f9c41"  # $YOLODECK_SERVE_TOKEN of the guarded hub


def _hub(*args: str, env: dict | None = None) -> str:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, check=True,
                          env=env).stdout


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A `hub serve` with tokens made by `hub token`: (url, root, {token kind: secret or None})."""
    root = tmp_path_factory.mktemp("guarded") / "hub"
    make = {"admin": ["--role", "write"], "read": ["--role", "read", "--namespace", "acme"],
            "write": ["--role", "write", "--namespace", "acme"],
            "other namespace": ["--role", "write", "--namespace", "globex"], "revoked": ["--role", "write"]}
    secrets = {kind: _hub("token", "create", "--root", str(root), "--name", kind.replace(" ", "-"), *flags).strip()
               for kind, flags in make.items()}
    assert "revoked 'revoked'" in _hub("token", "revoke", "revoked", "--root", str(root))
    listing = _hub("token", "list", "--root", str(root))
    assert "other-namespace\twrite\tglobex" in listing and "revoked" not in listing
    assert not any(s in (root / "tokens.json").read_text() for s in secrets.values())  # hashes only
    secrets |= {"none": None, "wrong": "ydk_" + "x" * 43}
    secrets["env"] = ENV_SECRET
    port = free_port()
    proc = start_server([sys.executable, "-m", "hub.cli", "serve", "--root", str(root), "--port", str(port),
                         "--max-commit-mb", "1", "--max-file-mb", "0.25", "--max-files", "5"], port,
                        {**os.environ, "YOLODECK_SERVE_TOKEN": ENV_SECRET})
    yield f"http://127.0.0.1:{port}", root, secrets
    stop(proc)


def _outcome(fn):
    from huggingface_hub import errors as hf_errors

    try:
        return fn()
    except hf_errors.HfHubHTTPError as exc:
        return exc.response.status_code


def _actions(url: str, token: str | None, repo: str, slug: str, *, private: bool, cache: Path) -> dict:
    """Each action of the table as a call of the real client with ``token`` (None: anonymous)."""
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(endpoint=url, token=token or False)
    return {
        "list": lambda: "listed" if repo in {m.id for m in api.list_models()} else "absent",
        "info": lambda: api.model_info(repo) and "ok",
        "download": lambda: hf_hub_download(repo, "notes.txt", endpoint=url, token=token or False,
                                            cache_dir=cache) and "ok",
        "upload": lambda: api.upload_file(path_or_fileobj=b"x", path_in_repo=f"by-{slug}.txt", repo_id=repo) and "ok",
        "create repo": lambda: api.create_repo(f"acme/new-{slug}", private=private) and "ok",
        "tag": lambda: api.create_tag(repo, tag=f"t-{slug}") is None and "ok",
        "delete": lambda: api.delete_repo(f"acme/doomed-{slug}") is None and "ok",
    }


def test_the_access_table(guarded, tmp_path):
    from huggingface_hub import HfApi

    url, _, secrets = guarded
    admin = HfApi(endpoint=url, token=secrets["admin"])
    table = {}
    for visibility in ("public", "private"):
        repo = f"acme/{visibility}-notes"
        admin.create_repo(repo, private=visibility == "private", exist_ok=True)
        admin.upload_file(path_or_fileobj=b"hello", path_in_repo="notes.txt", repo_id=repo)
        for kind in TOKENS:
            slug = f"{visibility}-{kind.replace(' ', '-')}"
            admin.create_repo(f"acme/doomed-{slug}", private=visibility == "private")
            actions = _actions(url, secrets[kind], repo, slug, private=visibility == "private", cache=tmp_path / slug)
            table[visibility, kind] = tuple(_outcome(actions[a]) for a in ACTIONS)
    print("\n".join(f"{v:8} {k:16} " + "  ".join(f"{a}={o}" for a, o in zip(ACTIONS, out, strict=True))
                    for (v, k), out in table.items()))
    for visibility, rows in EXPECTED.items():
        for kind, expected in rows.items():
            assert table[visibility, kind] == expected, (visibility, kind, dict(zip(ACTIONS, table[visibility, kind],
                                                                                     strict=True)))


@pytest.mark.parametrize("kind", ["env", "write", "read"])
def test_a_token_is_accepted_only_whole(guarded, kind):
    """$YOLODECK_SERVE_TOKEN and created tokens: a prefix, an extension, a case change or a space is no token
    (a check that compared only a prefix would hand `Bearer s` every namespace)."""
    url, _, secrets = guarded
    secret = secrets[kind]
    with httpx.Client(base_url=url, timeout=30) as http:
        def status(token: str) -> int:
            return http.get("/api/models", headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(secret) == 200
        refused = {name: status(miss) for name, miss in near_misses(secret).items()}
    assert set(refused.values()) == {401}, refused


def test_the_hf_cli_sees_the_same_rules(guarded, tmp_path):
    from huggingface_hub import HfApi

    url, _, secrets = guarded
    HfApi(endpoint=url, token=secrets["admin"]).create_repo("acme/cli-secret", private=True, exist_ok=True)
    HfApi(endpoint=url, token=secrets["admin"]).upload_file(path_or_fileobj=b"s3", path_in_repo="a.txt",
                                                            repo_id="acme/cli-secret")
    env = {**os.environ, "HF_ENDPOINT": url, "HF_HOME": str(tmp_path / "hf")}
    hf = str(Path(sys.executable).with_name("hf"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([hf, *args], env=env, capture_output=True, text=True, timeout=120)

    anonymous = run("download", "acme/cli-secret", "a.txt", "--local-dir", str(tmp_path / "anon"))
    assert anonymous.returncode != 0 and not (tmp_path / "anon" / "a.txt").exists()
    reader = run("download", "acme/cli-secret", "a.txt", "--local-dir", str(tmp_path / "r"), "--token", secrets["read"])
    assert reader.returncode == 0, reader.stderr
    assert (tmp_path / "r" / "a.txt").read_bytes() == b"s3"
    (tmp_path / "up.txt").write_text("up")
    refused = run("upload", "acme/cli-secret", str(tmp_path / "up.txt"), "up.txt", "--token", secrets["read"])
    assert refused.returncode != 0
    allowed = run("upload", "acme/cli-secret", str(tmp_path / "up.txt"), "up.txt", "--token", secrets["write"])
    assert allowed.returncode == 0, allowed.stderr
    assert "up.txt" in HfApi(endpoint=url, token=secrets["read"]).list_repo_files("acme/cli-secret")


READS = ("api/models/{r}", "api/models/{r}/revision/main", "api/models/{r}/tree/main", "api/models/{r}/refs",
         "api/models/{r}/commits/main", "{r}/resolve/main/a.txt", "POST api/models/{r}/paths-info/main")


def test_a_private_repo_is_a_404_on_every_read_route_like_one_never_made(guarded):
    from huggingface_hub import HfApi

    url, _, secrets = guarded
    HfApi(endpoint=url, token=secrets["admin"]).create_repo("acme/hidden", private=True, exist_ok=True)
    HfApi(endpoint=url, token=secrets["admin"]).upload_file(path_or_fileobj=b"a", path_in_repo="a.txt",
                                                            repo_id="acme/hidden")
    for route in READS:
        method, _, path = route.rpartition(" ")
        answers = {}
        for repo, token in (("acme/hidden", None), ("acme/never-made", None), ("acme/hidden", secrets["other namespace"]),
                            ("acme/hidden", secrets["read"])):
            headers = {"authorization": f"Bearer {token}"} if token else {}
            r = httpx.request(method or "GET", f"{url}/{path.format(r=repo)}", headers=headers,
                              data={"paths": "a.txt"} if method else None, timeout=30)
            answers[repo, token] = (r.status_code, r.headers.get("x-error-code"))
        hidden, never, other, reader = answers.values()
        assert hidden == never == other == (404, "RepoNotFound"), (route, answers)
        assert reader[0] == 200, (route, reader)


def _line(key: str, value) -> bytes:
    return json.dumps({"key": key, "value": value}).encode()


def _file(path: str, data: bytes) -> bytes:
    return _line("file", {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"})


HEADER = _line("header", {"summary": "hostile"})
HOSTILE = {
    "body over the commit limit": (HEADER + b"\n" + _file("big.bin", b"\0" * 200_000) * 8, 413),
    "file over the file limit": (HEADER + b"\n" + _file("big.bin", os.urandom(300_000)), 413),
    "too many files": (b"\n".join([HEADER, *(_file(f"f{i}.txt", b"x") for i in range(6))]), 413),
    "not json": (HEADER + b"\n{not json", 400),
    "value not an object": (HEADER + b"\n" + _line("file", "nope"), 400),
    "unknown operation": (HEADER + b"\n" + _line("rename", {"path": "a"}), 400),
    "bad base64": (HEADER + b"\n" + _line("file", {"path": "a.txt", "content": "%%%", "encoding": "base64"}), 400),
    "summary not a string": (_line("header", {"summary": {"x": 1}}) + b"\n" + _file("a.txt", b"x"), 400),
    "lfs file": (HEADER + b"\n" + _line("lfsFile", {"path": "a.bin", "algo": "sha256", "oid": "0" * 64}), 400),
    **{f"path {name}": (HEADER + b"\n" + _file(path, b"x"), 400) for name, path in {
        "..": "../evil.txt", "absolute": "/etc/evil", "backslash": "a\\evil.txt", "NUL": "a\0evil.txt",
        "fullwidth dots": "\uff0e\uff0e/evil.txt", "right-to-left override": "a/\u202etxt.exe",
        "zero-width space": "a\u200b.txt", "inner ..": "a/../../evil.txt"}.items()},
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_commits_get_a_4xx_and_change_nothing(guarded, case):
    url, root, secrets = guarded
    store = LocalStore(root)
    if not store.repo_exists("acme/target"):
        store.create_repo("acme/target")
        store.commit("acme/target", [AddFile("keep.txt", b"kept")], message="first")
    before, objects = store.resolve("acme/target"), sorted((root / "objects").rglob("*"))
    body, status = HOSTILE[case]
    r = httpx.post(f"{url}/api/models/acme/target/commit/main", content=body, timeout=60,
                   headers={"authorization": f"Bearer {secrets['write']}", "content-type": "application/x-ndjson"})
    assert r.status_code == status, (r.status_code, r.text)
    assert "error" in r.json() and r.headers.get("x-error-message")
    assert store.resolve("acme/target") == before and list(store.tree("acme/target")) == ["keep.txt"]
    assert sorted((root / "objects").rglob("*")) == objects
    assert not [p for p in (root / "staging").rglob("*") if p.is_file()]


def test_a_streamed_body_over_the_limit_is_cut_off(guarded):
    url, root, secrets = guarded

    def chunks():
        yield HEADER + b"\n"
        for _ in range(40):
            yield b"x" * 50_000  # no Content-Length: the limit is counted as it streams

    r = httpx.post(f"{url}/api/models/acme/target/commit/main", content=chunks(), timeout=60,
                   headers={"authorization": f"Bearer {secrets['write']}"})
    assert r.status_code == 413
    big_json = httpx.post(f"{url}/api/repos/create", content=b'{"name": "' + b"a" * (2 << 20) + b'"}',
                          headers={"authorization": f"Bearer {secrets['write']}", "content-type": "application/json"})
    assert big_json.status_code == 413


def test_a_full_disk_refuses_the_commit_and_leaves_nothing(tmp_path):
    """On a 2 MiB tmpfs root (a mount namespace of the server's own), where the machine allows it."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    root, port = tmp_path / "small", free_port()
    root.mkdir()
    serve = (f"mount -t tmpfs -o size=2m tmpfs {root} && exec {sys.executable} -m hub.cli serve --root {root} "
             f"--port {port}")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {root}"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    proc = start_server(["unshare", "-m", "sh", "-c", serve], port, {**os.environ, "YOLODECK_SERVE_TOKEN": "t0k"})
    try:
        api = HfApi(endpoint=f"http://127.0.0.1:{port}", token="t0k")
        api.create_repo("acme/full")
        first = api.upload_file(path_or_fileobj=os.urandom(300_000), path_in_repo="a.bin", repo_id="acme/full")
        seen = Path(f"/proc/{proc.pid}/root") / str(root).lstrip("/")  # the server's view of its tmpfs
        objects = sorted((seen / "objects").rglob("*"))
        with pytest.raises(hf_errors.HfHubHTTPError) as refused:
            api.upload_file(path_or_fileobj=os.urandom(1_400_000), path_in_repo="b.bin", repo_id="acme/full")
        assert refused.value.response.status_code == 507 and "disk is full" in str(refused.value)
        assert api.model_info("acme/full").sha == first.oid
        assert sorted((seen / "objects").rglob("*")) == objects
        assert not [p for p in (seen / "staging").rglob("*") if p.is_file()]
        api.upload_file(path_or_fileobj=b"small", path_in_repo="c.txt", repo_id="acme/full")  # still works
    finally:
        stop(proc)


def test_a_store_whose_writes_fail_refuses_the_commit_and_leaves_nothing(tmp_path, monkeypatch):
    """The same without a tmpfs: the store's writes fail with ENOSPC after the first staged file."""
    import errno

    import hub.store.commits as commits
    from hub.base.errors import StorageFullError

    store = LocalStore(tmp_path / "hub")
    store.create_repo("acme/full")
    head = store.commit("acme/full", [AddFile("a.txt", b"a")], message="first")
    objects = sorted((tmp_path / "hub" / "objects").rglob("*"))
    real, calls = commits.write_atomic, {"n": 0}

    def failing(path, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(commits, "write_atomic", failing)
    with pytest.raises(StorageFullError, match="disk is full"):
        store.commit("acme/full", [AddFile("b.txt", b"b"), AddFile("c.txt", b"c")], message="second")
    assert store.resolve("acme/full") == head and sorted((tmp_path / "hub" / "objects").rglob("*")) == objects
    assert not [p for p in (tmp_path / "hub" / "staging").rglob("*") if p.is_file()]


def test_fuzzed_requests_never_get_a_500(tmp_path):
    """Hypothesis sends odd methods, paths, headers and bodies to the app in process: 4xx at worst."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from starlette.testclient import TestClient

    from hub.server.app import create_app
    from hub.server.commit_body import Limits

    store = LocalStore(tmp_path / "hub")
    store.create_repo("acme/fuzz")
    store.commit("acme/fuzz", [AddFile("a.txt", b"a")], message="first")
    client = TestClient(create_app(tmp_path / "hub", token="tok", limits=Limits(max_commit_bytes=50_000)),
                        raise_server_exceptions=False)
    segment = st.one_of(st.sampled_from(["api", "models", "spaces", "acme", "fuzz", "main", "resolve", "tree",
                                         "commit", "refs", "revision", "tag", "branch", "preupload", "paths-info",
                                         "repos", "create", "delete", "a.txt", "..", "%2F", "%00", ""]),
                        st.text(min_size=1, max_size=8))
    bodies = st.one_of(st.binary(max_size=300), st.sampled_from([b"{}", b"[]", b'{"name": 5}', b"null",
                                                                 HEADER + b"\n" + _file("x", b"y"), b"\n\n"]))

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]), parts=st.lists(segment, max_size=7),
           body=bodies, auth=st.sampled_from([None, "Bearer tok", "Bearer nope", "Basic x", "Bearer "]))
    def check(method, parts, body, auth):
        from urllib.parse import quote

        path = "/" + "/".join(quote(p, safe="%") for p in parts)
        headers = {"authorization": auth} if auth else {}
        r = client.request(method, path, content=body if method not in ("GET", "HEAD") else None, headers=headers)
        assert r.status_code < 500, (method, path, body[:80], r.status_code, r.text[:300])

    check()
    assert store.resolve("acme/fuzz") in {c["id"] for c in store.list_commits("acme/fuzz")}


def test_a_private_hub_needs_a_token_for_every_read(tmp_path):
    from starlette.testclient import TestClient

    from hub.server.app import create_app
    from hub.server.tokens import TokenStore

    store = LocalStore(tmp_path / "hub")
    store.create_repo("acme/open")
    reader, _ = TokenStore(store.root).create(role="read", namespace="acme")
    client = TestClient(create_app(store.root, private=True))
    anonymous = client.get("/api/models/acme/open")
    assert anonymous.status_code == 404 and anonymous.headers["x-error-code"] == "RepoNotFound"
    assert client.get("/api/models").json() == []
    with_token = {"authorization": f"Bearer {reader}"}
    assert client.get("/api/models/acme/open", headers=with_token).json()["id"] == "acme/open"
    assert [m["id"] for m in client.get("/api/models", headers=with_token).json()] == ["acme/open"]


@pytest.mark.parametrize("host, where", [("0.0.0.0", "the network"), ("127.0.0.1", "this machine")])
def test_serving_without_a_token_says_who_can_write(tmp_path, host, where):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "YOLODECK_SERVE_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--root", str(tmp_path / "h"), "--host", host,
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        start_server([], port, env, proc=proc)
    finally:
        stop(proc)
    warning = proc.stderr.read()
    assert "warning" in warning and f"anyone on {where}" in warning and "hub token create" in warning
