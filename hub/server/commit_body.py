"""The body of a Hub commit (``POST /api/<type>s/<repo>/commit/<revision>``): NDJSON, one operation a line.

Read as it streams in: each file's base64 content is decoded to a temp file, so a commit's size
is bounded by the disk, not by memory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.base.errors import YolodeckError
from hub.store.files import AddFile, DeleteFile


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateRepo(_Body):
    name: str
    organization: str | None = None
    type: str | None = None
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None

    @property
    def repo_id(self) -> str:
        return "/".join(x for x in (self.organization, self.name) if x)


class Tag(_Body):
    tag: str
    message: str | None = None


class Branch(_Body):
    startingPoint: str | None = None  # noqa: N815 - the Hub's field name


@dataclass(frozen=True)
class Limits:
    """How much one request may send (``hub serve --max-*``); past them, 413 and nothing written."""

    max_commit_bytes: int = 2 << 30  # a commit's body as sent (base64: about 4/3 of its files)
    max_file_bytes: int = 512 << 20  # one file, decoded
    max_files: int = 10_000  # operations in one commit
    max_json_bytes: int = 1 << 20  # any other body


DEFAULT_LIMITS = Limits()


class HttpError(YolodeckError):
    """A request the hub refuses: its status, message and the Hub's ``X-Error-Code`` if it has one."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


async def read_commit(chunks: AsyncIterator[bytes], tmp: Path,
                      limits: Limits = DEFAULT_LIMITS) -> tuple[dict[str, Any], list[AddFile | DeleteFile]]:
    """(header, operations) of an NDJSON commit body; HttpError 400 naming the first bad line, 413 past
    ``limits``."""
    header: dict[str, Any] = {}
    operations: list[AddFile | DeleteFile] = []
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            _line(bytes(buffer[:end]), header, operations, tmp, limits)
            del buffer[:end + 1]
        if len(buffer) > limits.max_file_bytes * 4 // 3 + 4096:  # one line holds one file's base64
            raise HttpError(413, f"a file in this commit is over this hub's limit of {limits.max_file_bytes} bytes")
    _line(bytes(buffer), header, operations, tmp, limits)
    for key in ("summary", "description", "parentCommit"):
        if not isinstance(header.get(key) or "", str):
            raise HttpError(400, f"the commit header's {key!r} must be a string")
    return header, operations


def _line(line: bytes, header: dict[str, Any], operations: list[Any], tmp: Path, limits: Limits) -> None:
    if not line.strip():
        return
    try:
        item = json.loads(line)
        key, value = item["key"], item["value"]
        if not isinstance(value, dict):
            raise TypeError("'value' must be an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise HttpError(400, f"malformed commit payload line ({exc})") from exc
    if key == "header":
        header.update(value)
    elif key in ("file", "deletedFile", "deletedFolder") and len(operations) >= limits.max_files:
        raise HttpError(413, f"a commit may hold at most {limits.max_files} files on this hub")
    elif key == "file":
        if value.get("encoding", "base64") != "base64":
            raise HttpError(400, f"unsupported encoding {value.get('encoding')!r}")
        target = tmp / f"{len(operations)}.bin"
        try:
            data = base64.b64decode(value["content"], validate=True)
            if len(data) > limits.max_file_bytes:
                raise HttpError(413, f"{value.get('path')!r} is {len(data)} bytes, over this hub's limit of "
                                     f"{limits.max_file_bytes} bytes per file")
            target.write_bytes(data)
            operations.append(AddFile(str(value["path"]), target))
        except (binascii.Error, KeyError, TypeError, ValueError) as exc:
            raise HttpError(400, f"bad file operation for {value.get('path')!r}: {exc}") from exc
    elif key in ("deletedFile", "deletedFolder"):
        if not isinstance(value.get("path"), str):
            raise HttpError(400, f"{key} needs a 'path'")
        operations.append(DeleteFile(value["path"]))
    elif key == "lfsFile":
        raise HttpError(400, "LFS uploads are not supported by this hub (it asks for regular uploads)")
    else:
        raise HttpError(400, f"unknown commit operation {key!r}")
