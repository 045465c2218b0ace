"""``/v1/streams``: start counting on a live source, read its state and its events, stop it.

The API only writes the board (:mod:`apps.service.streams`); a worker claims the stream and runs it. The source
is checked here against the operator's :class:`~apps.service.streams.SourcePolicy` before anything is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from apps.service import schemas
from apps.service.detection import GUARDED, Svc
from apps.service.errors import ServiceError
from apps.service.streams import SourcePolicy, StreamBoard, StreamSpec
from hub.base.errors import InvalidVideoError

SSE_KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet event stream


def _known(board: StreamBoard, sid: str) -> dict[str, Any]:
    state = board.read(sid) if sid.isalnum() and len(sid) <= 64 else None
    if state is None:
        raise ServiceError(404, f"no such stream {sid[:64]!r} (unknown, or it ended over an hour ago)")
    return state


def _public(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in schemas.StreamState.model_fields if state.get(k) is not None}


def create(board: StreamBoard, policy: SourcePolicy, body: schemas.StreamCreate) -> JSONResponse:
    try:
        source = policy.check(body.source)
    except InvalidVideoError as exc:
        raise ServiceError(422, f"source: {exc}") from exc
    spec = StreamSpec(source=source, lines=body.lines, zones=body.zones, conf=body.conf, iou=body.iou,
                      variant=body.variant, max_fps=body.max_fps, max_lag=body.max_lag,
                      empty_after=body.empty_after)
    sid = board.create(spec)
    return JSONResponse(_public(_known(board, sid)), status_code=201, headers={"Location": f"/v1/streams/{sid}"})


def events(board: StreamBoard, sid: str) -> Iterator[str]:
    """Server-sent events: every count change and state change, from the stream's start, until it ends."""
    after, quiet_since = "0-0", time.monotonic()
    while True:
        got = board.events(sid, after, block_ms=1000)
        for eid, data in got:
            after = eid
            yield f"id: {eid}\nevent: {data.get('event', 'message')}\ndata: {json.dumps(data)}\n\n"
            if data.get("event") in ("stopped", "failed"):
                return
        if got:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > SSE_KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        if not got and board.read(sid) is None:
            return


router = APIRouter(tags=["streams"], dependencies=GUARDED)


@router.post("/v1/streams", status_code=201, response_model=schemas.StreamState,
             responses={422: {"model": schemas.Problem}})
def create_stream(svc: Svc, body: schemas.StreamCreate) -> JSONResponse:
    """Count on a live source until DELETE: a worker claims it within a second or so."""
    return create(svc.board, svc.sources, body)


@router.get("/v1/streams", response_model=list[schemas.StreamState])
def list_streams(svc: Svc) -> list[dict[str, Any]]:
    """The streams not yet ended."""
    return [_public(s) for s in svc.board.running()]


@router.get("/v1/streams/{sid}", response_model=schemas.StreamState)
def read_stream(svc: Svc, sid: str) -> dict[str, Any]:
    """Its state, the source's status (fps, lag, drops, reconnects) and the counts so far."""
    return _public(_known(svc.board, sid))


@router.get("/v1/streams/{sid}/events", responses={200: {"content": {"text/event-stream": {}}}})
def stream_events(svc: Svc, sid: str) -> StreamingResponse:
    """Server-sent events of count changes (``counts``) and of its state (``claimed``, ``stopped``, ``failed``)."""
    _known(svc.board, sid)
    return StreamingResponse(events(svc.board, sid), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


@router.delete("/v1/streams/{sid}", response_model=schemas.StreamState)
def stop_stream(svc: Svc, sid: str) -> dict[str, Any]:
    """Stop it: its worker lets go within a second; the final counts stay readable for an hour."""
    _known(svc.board, sid)
    svc.board.stop(sid)
    return _public(_known(svc.board, sid))
