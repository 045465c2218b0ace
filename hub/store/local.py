"""The embedded hub: model repos on disk with commits, branches, tags and content-addressed files.

Layout under the root::

    objects/ab/abcdef...            file contents, named by sha256 (shared by every repo)
    repos/<type>s/<owner>/<name>/
        repo.json                   id, type, private, created (and sdk for Spaces)
        commits/<oid>.json          parent, message, date, tree {path: {sha256, size, oid}}
        refs/heads/<branch>         the commit a branch points to (names percent-encoded)
        refs/tags/<tag>
        lock                        held (filelock) while a ref moves

A commit stages its files first, then moves them into objects/, writes its commit record and
moves the branch last, with an atomic rename under the repo's lock and a check that the branch
still points where the commit started from; a failure (a full disk too) removes what it added. A crash or Ctrl-C before that rename leaves the repo at its previous
revision. Two pushes at once serialize on the lock and both land, one after the other; a push
that names its parent commit fails cleanly with :class:`ConcurrentPushError` if another landed
first, instead of silently building on a tree it did not see.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from filelock import FileLock

from hub.base.errors import (
    EntryNotFoundError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from hub.base.offline import cache_dir
from hub.store import default_root, validate_path, validate_repo_id, validate_repo_type, validate_revision
from hub.store.commits import DEFAULT_BRANCH, Commits
from hub.store.files import AddFile, DeleteFile, Entry, now, write_atomic

_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")


class LocalStore(Commits):
    """Model repos on local disk. Thread- and process-safe for concurrent pushes to one repo."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_root()
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # --- repos ---------------------------------------------------------------------------------

    def _repo_dir(self, repo_id: str, repo_type: str) -> Path:
        validate_repo_id(repo_id)
        validate_repo_type(repo_type)
        return self.root / "repos" / f"{repo_type}s" / repo_id

    def _existing(self, repo_id: str, repo_type: str) -> Path:
        d = self._repo_dir(repo_id, repo_type)
        if not (d / "repo.json").is_file():
            raise RepositoryNotFoundError(f"{repo_type} repo {repo_id} not found in the hub at {self.root}")
        return d

    def repo_exists(self, repo_id: str, *, repo_type: str = "model") -> bool:
        return (self._repo_dir(repo_id, repo_type) / "repo.json").is_file()

    def create_repo(self, repo_id: str, *, repo_type: str = "model", private: bool = False, exist_ok: bool = False,
                    space_sdk: str | None = None) -> dict[str, Any]:
        d = self._repo_dir(repo_id, repo_type)
        with self._lock(d):
            if (d / "repo.json").is_file():
                if exist_ok:
                    return self.repo_info(repo_id, repo_type=repo_type)
                raise RepoError(f"{repo_type} repo {repo_id} already exists")
            info = {"id": repo_id, "type": repo_type, "private": private, "created": now()}
            if space_sdk:
                info["sdk"] = space_sdk
            commit = self._write_commit(d, parent=None, tree={}, title="initial commit", description="")
            write_atomic(self._ref_path(d, "heads", DEFAULT_BRANCH), commit.encode())
            write_atomic(d / "repo.json", json.dumps(info, indent=2).encode())
        return info

    def delete_repo(self, repo_id: str, *, repo_type: str = "model") -> None:
        d = self._existing(repo_id, repo_type)
        trash = d.with_name(f".deleted-{d.name}-{os.getpid()}")
        os.replace(d, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def repo_info(self, repo_id: str, *, repo_type: str = "model", revision: str | None = None) -> dict[str, Any]:
        d = self._existing(repo_id, repo_type)
        info: dict[str, Any] = json.loads((d / "repo.json").read_text())
        info["sha"] = self.resolve(repo_id, revision or DEFAULT_BRANCH, repo_type=repo_type)
        commit = self._read_commit(d, info["sha"])
        info["lastModified"] = commit["date"]
        info["files"] = sorted(commit["tree"])
        return info

    def list_repos(self, *, repo_type: str | None = None, author: str | None = None) -> list[dict[str, Any]]:
        out = []
        for t in [repo_type] if repo_type else ["model", "space", "dataset"]:
            base = self.root / "repos" / f"{t}s"
            for meta in sorted(base.glob("*/*/repo.json")) + sorted(base.glob("*/repo.json")):
                info = json.loads(meta.read_text())
                if author and not info["id"].startswith(author + "/"):
                    continue
                with contextlib.suppress(RepoError, OSError, ValueError):
                    info.update(self.repo_info(info["id"], repo_type=t))
                out.append(info)
        return out

    def repo_meta(self, repo_id: str, *, repo_type: str = "model") -> dict[str, Any]:
        """What ``repo.json`` says (id, type, private, created), without resolving anything."""
        meta: dict[str, Any] = json.loads((self._existing(repo_id, repo_type) / "repo.json").read_text())
        return meta

    # --- refs ----------------------------------------------------------------------------------

    @staticmethod
    def _ref_path(d: Path, kind: str, name: str) -> Path:
        return d / "refs" / kind / quote(validate_revision(name), safe="")

    def _read_ref(self, d: Path, kind: str, name: str) -> str | None:
        p = self._ref_path(d, kind, name)
        return p.read_text().strip() if p.is_file() else None

    def resolve(self, repo_id: str, revision: str = DEFAULT_BRANCH, *, repo_type: str = "model") -> str:
        """Branch, tag or commit id -> commit id."""
        d = self._existing(repo_id, repo_type)
        validate_revision(revision)
        for kind in ("heads", "tags"):
            if (oid := self._read_ref(d, kind, revision)) is not None:
                return oid
        if _COMMIT_ID.match(revision) and (d / "commits" / f"{revision}.json").is_file():
            return revision
        raise RevisionNotFoundError(f"revision '{revision}' not found in {repo_id}")

    def list_refs(self, repo_id: str, *, repo_type: str = "model") -> dict[str, list[dict[str, Any]]]:
        d = self._existing(repo_id, repo_type)
        out: dict[str, list[dict[str, Any]]] = {}
        for kind, key in (("heads", "branches"), ("tags", "tags")):
            folder = d / "refs" / kind
            out[key] = [
                {"name": unquote(p.name), "ref": f"refs/{kind}/{unquote(p.name)}", "targetCommit": p.read_text().strip()}
                for p in sorted(folder.iterdir()) if not p.name.startswith(".tmp-")
            ] if folder.is_dir() else []
        return out

    def create_tag(self, repo_id: str, tag: str, *, revision: str = DEFAULT_BRANCH, message: str | None = None,
                   exist_ok: bool = False, repo_type: str = "model") -> str:
        d = self._existing(repo_id, repo_type)
        oid = self.resolve(repo_id, revision, repo_type=repo_type)
        with self._lock(d):
            path = self._ref_path(d, "tags", tag)
            if path.exists() or self._ref_path(d, "heads", tag).exists():
                if exist_ok:
                    return path.read_text().strip() if path.exists() else oid
                raise RepoError(f"tag or branch '{tag}' already exists in {repo_id}")
            write_atomic(path, oid.encode())
        return oid

    def create_branch(self, repo_id: str, branch: str, *, revision: str | None = None, exist_ok: bool = False,
                      repo_type: str = "model") -> str:
        d = self._existing(repo_id, repo_type)
        oid = self.resolve(repo_id, revision or DEFAULT_BRANCH, repo_type=repo_type)
        with self._lock(d):
            path = self._ref_path(d, "heads", branch)
            if path.exists() or self._ref_path(d, "tags", branch).exists():
                if exist_ok:
                    return oid
                raise RepoError(f"branch or tag '{branch}' already exists in {repo_id}")
            write_atomic(path, oid.encode())
        return oid

    # --- files ---------------------------------------------------------------------------------

    def tree(self, repo_id: str, *, revision: str = DEFAULT_BRANCH, repo_type: str = "model") -> dict[str, Entry]:
        d = self._existing(repo_id, repo_type)
        oid = self.resolve(repo_id, revision, repo_type=repo_type)
        return {p: Entry(p, e["size"], e["sha256"], e["oid"]) for p, e in sorted(self._read_commit(d, oid)["tree"].items())}

    def blob_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def file_entry(self, repo_id: str, path: str, *, revision: str = DEFAULT_BRANCH,
                   repo_type: str = "model") -> tuple[str, Entry]:
        """(commit id, entry) of one file at a revision."""
        oid = self.resolve(repo_id, revision, repo_type=repo_type)
        tree = self.tree(repo_id, revision=oid, repo_type=repo_type)
        path = validate_path(path)
        if path not in tree:
            raise EntryNotFoundError(f"{path} not found in {repo_id}@{revision}")
        return oid, tree[path]

    def open(self, repo_id: str, path: str, *, revision: str = DEFAULT_BRANCH, repo_type: str = "model") -> BinaryIO:
        _, entry = self.file_entry(repo_id, path, revision=revision, repo_type=repo_type)
        return open(self.blob_path(entry.sha256), "rb")

    # --- the operations yolodeck's push and pull use (HfStore has the same) ----------------------

    @property
    def key(self) -> str:
        """A filesystem-safe name for this store (cache folders)."""
        return "local-" + hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:12]

    @property
    def location(self) -> str:
        return str(self.root)

    def commit_folder(self, repo_id: str, folder: Path, *, message: str, repo_type: str = "model",
                      replace_all: bool = True, parent_commit: str | None = None) -> str:
        """Commit every file under ``folder`` as one commit on main."""
        files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        ops: list[AddFile | DeleteFile] = [AddFile(p.relative_to(folder).as_posix(), p) for p in files]
        return self.commit(repo_id, ops, message=message, replace_all=replace_all, parent_commit=parent_commit,
                           repo_type=repo_type)

    def files(self, repo_id: str, *, revision: str, repo_type: str = "model") -> list[str]:
        return list(self.tree(repo_id, revision=revision, repo_type=repo_type))

    def fetch(self, repo_id: str, path: str, *, revision: str, repo_type: str = "model") -> Path:
        """The stored blob of one file (read it, do not modify it)."""
        _, entry = self.file_entry(repo_id, path, revision=revision, repo_type=repo_type)
        return self.blob_path(entry.sha256)

    def download(self, repo_id: str, path: str, *, revision: str, local_dir: Path | None = None,
                 repo_type: str = "model") -> Path:
        """A copy of one file for a reader: in ``local_dir``, or in a pull cache folder named by the commit
        (``<cache>/pulls/<store>/<owner>--<name>/snapshots/<commit>/<path>``, the layout of the Hub's cache).

        The copy goes through a temp file of its own and is renamed into place: two pulls of one file at
        once (two app users, two variants sharing a file) never see or move a partial copy.
        """
        commit, entry = self.file_entry(repo_id, path, revision=revision, repo_type=repo_type)
        folder = Path(local_dir) if local_dir else self.snapshot_dir(repo_id, commit)
        dst = folder / entry.path
        if dst.is_file() and local_dir is None:
            return dst  # the cache is per commit; the caller checks what it reads against the manifest
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(self.blob_path(entry.sha256), name)
            os.replace(name, dst)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        return dst

    def snapshot_dir(self, repo_id: str, commit: str) -> Path:
        return cache_dir() / "pulls" / self.key / validate_repo_id(repo_id).replace("/", "--") / "snapshots" / commit

    # --- locking -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, d: Path) -> Iterator[None]:
        d.mkdir(parents=True, exist_ok=True)
        with FileLock(d / "lock"):
            yield
