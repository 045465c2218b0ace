"""``POST /v1/videos``: read the multipart clip and its options, and check the clip before it is queued."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request

from apps.service.errors import ServiceError
from apps.service.uploads import form_file

MAX_SECONDS = 120  # longer clips: run `python -m apps.video` where the file is
SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


async def parse(request: Request) -> tuple[bytes, dict[str, Any]]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ServiceError(415, "send multipart/form-data with the file in field 'video'")
    upload, form = await form_file(request, ("video",))
    fields: dict[str, Any] = {k: v for k, v in form.multi_items() if k != "video"}
    fields["lines"] = [v for k, v in form.multi_items() if k == "line"]
    fields["suffix"] = Path(upload.filename or "clip.mp4").suffix.lower() or ".mp4"
    return await upload.read(), fields


def _number(fields: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    try:
        value = float(fields.get(key, default))
    except (TypeError, ValueError):
        raise ServiceError(422, f"{key}: a number, not {fields.get(key)!r}") from None
    if not low <= value <= high:
        raise ServiceError(422, f"{key}: between {low:g} and {high:g}, got {value:g}")
    return value


def check(data: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    """The job's params, once the clip opens, has frames, is short enough and the lines fit in its frame."""
    from hub.base.errors import InvalidVideoError
    from hub.video import parse_line, read_frames, video_info

    suffix = fields["suffix"] if fields["suffix"] in SUFFIXES else ".mp4"
    with tempfile.NamedTemporaryFile(suffix=suffix) as fh:
        fh.write(data)
        fh.flush()
        try:
            info = video_info(fh.name)
            next(iter(read_frames(fh.name, ahead=1)))  # one frame decodes
        except InvalidVideoError as exc:
            raise ServiceError(422, str(exc).replace(Path(fh.name).name, "the video")) from exc
        except StopIteration:
            raise ServiceError(422, "the video holds no frames") from None
    seconds = info.frames / info.fps if info.frames else 0
    if seconds > MAX_SECONDS:
        raise ServiceError(413, f"the clip is {seconds:.0f} s long; the limit is {MAX_SECONDS} s")
    lines = []
    for text in fields["lines"] or [""]:
        try:
            (x1, y1), (x2, y2) = parse_line(text, info.width, info.height)
        except ValueError as exc:
            raise ServiceError(422, f"line: {exc}") from None
        lines.append([[x1, y1], [x2, y2]])
    return {"kind": "video", "suffix": suffix, "lines": lines,
            "every": int(_number(fields, "every", 1, 1, 10)), "conf": _number(fields, "conf", 0.25, 0, 1),
            "iou": _number(fields, "iou", 0.7, 0, 1)}
