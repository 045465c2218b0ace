"""The body of a Hub commit (``POST /api/<type>s/<repo>/commit/<revision>``): NDJSON, one operation a line.

Read as it streams in: each file's base64 content is decoded to a temp file, so a commit's size
is bounded by the disk, not by memory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from pathlib import Path

from hub.store.files import AddFile, DeleteFile


class HttpError(Exception):
    """A request the hub refuses: its status, message and the Hub's ``X-Error-Code`` if it has one."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


async def read_commit(chunks: AsyncIterator[bytes], tmp: Path) -> tuple[dict, list[AddFile | DeleteFile]]:
    """(header, operations) of an NDJSON commit body; HttpError(400) naming the first bad line."""
    header: dict = {}
    operations: list[AddFile | DeleteFile] = []
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            _line(line, header, operations, tmp)
    _line(buffer, header, operations, tmp)
    return header, operations


def _line(line: bytes, header: dict, operations: list, tmp: Path) -> None:
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
    elif key == "file":
        if value.get("encoding", "base64") != "base64":
            raise HttpError(400, f"unsupported encoding {value.get('encoding')!r}")
        target = tmp / f"{len(operations)}.bin"
        try:
            target.write_bytes(base64.b64decode(value["content"], validate=True))
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
