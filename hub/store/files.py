"""What a commit is made of: file operations, tree entries, their hashes, and atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class AddFile:
    """Add or replace ``path`` with the bytes of ``source`` (a file path or bytes)."""

    path: str
    source: Path | bytes


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    sha256: str
    oid: str  # git blob sha1, what the Hub API calls the file's oid


def git_blob_oid(data_or_path: Path | bytes) -> tuple[str, str, int]:
    """(git blob sha1, sha256, size) of a file or bytes."""
    if isinstance(data_or_path, bytes):
        size = len(data_or_path)
        prefix = f"blob {size}\0".encode()
        return hashlib.sha1(prefix + data_or_path).hexdigest(), hashlib.sha256(data_or_path).hexdigest(), size
    size = data_or_path.stat().st_size
    prefix = f"blob {size}\0".encode()
    with open(data_or_path, "rb") as fh:
        sha1 = hashlib.file_digest(fh, lambda: hashlib.sha1(prefix)).hexdigest()
        fh.seek(0)
        sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
    return sha1, sha256, size


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_atomic(path: Path, data: bytes | Path) -> None:
    """Write ``data`` (bytes, or a file's contents) to ``path`` through a synced temp file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                with open(data, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
