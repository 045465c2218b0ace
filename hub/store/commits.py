"""Commits of the embedded hub: staged, landed under the repo's and the objects' locks, undone on failure.

A mixin of :class:`~hub.store.local.LocalStore` (it uses the store's repo folders, refs and locks).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.base.errors import ConcurrentPushError, EntryNotFoundError, RevisionNotFoundError, StorageFullError
from hub.store import validate_path
from hub.store.files import AddFile, DeleteFile, Entry, git_blob_oid, now, write_atomic

DEFAULT_BRANCH = "main"


Staged = list[tuple[str, tuple[Entry, Path] | None]]  # per operation: its path, and its staged blob (None: delete)


class Commits:
    root: Path  # the store's folder (LocalStore's)

    if TYPE_CHECKING:  # what the mixin uses of LocalStore
        def _existing(self, repo_id: str, repo_type: str) -> Path: ...
        def _read_ref(self, d: Path, kind: str, name: str) -> str | None: ...
        @staticmethod
        def _ref_path(d: Path, kind: str, name: str) -> Path: ...
        def _lock(self, d: Path) -> AbstractContextManager[None]: ...
        def blob_path(self, sha256: str) -> Path: ...
        def resolve(self, repo_id: str, revision: str = DEFAULT_BRANCH, *, repo_type: str = "model") -> str: ...

    def _read_commit(self, d: Path, oid: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads((d / "commits" / f"{oid}.json").read_text())
        return record

    def _write_commit(self, d: Path, *, parent: str | None, tree: dict[str, Any], title: str,
                      description: str) -> str:
        record = {"parent": parent, "title": title, "message": description, "date": now(), "author": "yolodeck",
                  "tree": tree}
        data = json.dumps(record, sort_keys=True).encode()
        oid = hashlib.sha1(data).hexdigest()
        write_atomic(d / "commits" / f"{oid}.json", data)
        return oid

    def _store_blob(self, source: Path | bytes, staged: Path) -> tuple[Entry, Path]:
        """Copy one file's bytes to ``staged`` (in this commit's staging folder); (its entry, the copy)."""
        write_atomic(staged, source)
        oid, sha256, size = git_blob_oid(staged)
        return Entry("", size, sha256, oid), staged

    def commit(
        self,
        repo_id: str,
        operations: list[AddFile | DeleteFile],
        *,
        message: str,
        description: str = "",
        revision: str = DEFAULT_BRANCH,
        parent_commit: str | None = None,
        replace_all: bool = False,
        repo_type: str = "model",
    ) -> str:
        """Apply ``operations`` to ``revision`` (a branch) as one commit; return its id.

        Files are staged first (a full disk fails here and leaves nothing), then, under the repo's
        lock and the objects' lock, moved into place (renames), the commit written and the branch
        moved; a failure there removes every object and record this commit added.

        Args:
            parent_commit: fail with ConcurrentPushError unless the branch still points there.
            replace_all: the commit's tree is exactly the added files (a whole deck replaces the last one).

        Raises:
            StorageFullError: the disk filled; the branch is where it was and no file is left behind.
        """
        d = self._existing(repo_id, repo_type)
        if self._read_ref(d, "heads", revision) is None:
            raise RevisionNotFoundError(f"branch '{revision}' not found in {repo_id} (commits go to branches)")
        (self.root / "staging").mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root / "staging"))
        try:
            staged: Staged = [
                (validate_path(op.path),
                 None if isinstance(op, DeleteFile) else self._store_blob(op.source, staging / str(i)))
                for i, op in enumerate(operations)
            ]
            with self._lock(d), self._lock(self.root / "objects"):  # one branch, and the shared objects
                return self._land(d, repo_id, revision, staged, parent_commit=parent_commit, replace_all=replace_all,
                                  title=message, description=description)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StorageFullError(f"the hub's disk is full: the commit to {repo_id}@{revision} was not made "
                                       "and nothing of it was kept") from exc
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _land(self, d: Path, repo_id: str, revision: str, staged: Staged, *, parent_commit: str | None,
              replace_all: bool, title: str, description: str) -> str:
        head = self._read_ref(d, "heads", revision)
        if head is None:  # deleted since commit() looked
            raise RevisionNotFoundError(f"branch '{revision}' not found in {repo_id} (commits go to branches)")
        if parent_commit is not None and head != parent_commit:
            raise ConcurrentPushError(
                f"{repo_id}@{revision} is at {head[:8]}, not at the expected parent "
                f"{parent_commit[:8]}: someone pushed in between; pull and push again"
            )
        tree = {} if replace_all else dict(self._read_commit(d, head)["tree"])
        for path, blob in staged:
            if blob is not None:
                tree[path] = {"sha256": blob[0].sha256, "size": blob[0].size, "oid": blob[0].oid}
                continue
            doomed = [p for p in tree if p == path or p.startswith(path.rstrip("/") + "/")]
            if not doomed:
                raise EntryNotFoundError(f"cannot delete {path}: not in {repo_id}@{revision}")
            for p in doomed:
                del tree[p]
        added: list[Path] = []
        try:
            for _, blob in staged:
                if blob is None:
                    continue
                target = self.blob_path(blob[0].sha256)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(blob[1], target)
                    added.append(target)
            oid = self._write_commit(d, parent=head, tree=tree, title=title, description=description)
            added.append(d / "commits" / f"{oid}.json")
            write_atomic(self._ref_path(d, "heads", revision), oid.encode())  # the commit point
        except BaseException:
            for undo in added:
                undo.unlink(missing_ok=True)
            raise
        return oid

    def list_commits(self, repo_id: str, *, revision: str = DEFAULT_BRANCH, repo_type: str = "model") -> list[dict[str, Any]]:
        """Newest first: id, title, message, date, authors."""
        d = self._existing(repo_id, repo_type)
        oid: str | None = self.resolve(repo_id, revision, repo_type=repo_type)
        out = []
        while oid:
            c = self._read_commit(d, oid)
            out.append({"id": oid, "title": c["title"], "message": c["message"], "date": c["date"],
                        "authors": [{"user": c["author"]}]})
            oid = c["parent"]
        return out
