"""``hub serve``: the Hugging Face Hub HTTP API over the local store, on FastAPI routes.

Enough of it for the real ``huggingface_hub`` client (``HfApi(endpoint=...)`` with
``HF_HUB_DISABLE_XET=1``): create/delete repo, preupload + NDJSON commit, refs, tags,
branches, commits, tree, paths-info, repo info, repo listing, and ``resolve`` with the
``ETag`` / ``X-Repo-Commit`` headers that ``hf_hub_download`` and ``snapshot_download``
need. The contract is the client's own source (see shared/notes/hf-hub-contract.md).
Every file is uploaded inline ("regular"); there is no LFS or Xet.

One exception handler maps yolodeck's errors to the Hub's status codes, ``X-Error-Code`` and
``{"error": ...}`` bodies; one dependency (:class:`Auth`) says who may write.
"""

from __future__ import annotations

import hmac
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from hub.errors import (
    ConcurrentPushError,
    EntryNotFoundError,
    InvalidRepoIdError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    YolodeckError,
)
from hub.store.local import LocalStore
from hub.store.payload import HttpError, read_commit

TYPES = {"models": "model", "spaces": "space", "datasets": "dataset"}
PREFIX = {"model": "", "space": "spaces/", "dataset": "datasets/"}
# error -> (status, X-Error-Code), most specific first
_STATUS: list[tuple[type[Exception], int, str | None]] = [
    (RepositoryNotFoundError, 404, "RepoNotFound"), (RevisionNotFoundError, 404, "RevisionNotFound"),
    (EntryNotFoundError, 404, "EntryNotFound"), (InvalidRepoIdError, 400, None), (ConcurrentPushError, 412, None),
    (RepoError, 409, None), (YolodeckError, 400, None),
]


def error_response(status: int, message: str, code: str | None = None, **headers: str) -> JSONResponse:
    """The Hub's error shape: a JSON ``error`` and the same message (and code) in headers."""
    head = {"X-Error-Message": message.encode("ascii", "replace").decode()[:500], **headers}
    if code:
        head["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=head)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, HttpError):
        return error_response(exc.status, exc.message, exc.code)
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return error_response(400, f"bad request: {where}: {first.get('msg', 'invalid')}")
    status, code = next((s, c) for kind, s, c in _STATUS if isinstance(exc, kind))
    return error_response(status, str(exc), code)


class Auth:
    """Who may write: with a token set, a request must carry ``Authorization: Bearer <token>``."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def write(self, request: Request) -> None:
        if not self.token:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            raise HttpError(401, "this hub needs a token to write: pass token= / set HF_TOKEN", "RepoNotFound")


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


class _KeepEncodedSlashes:
    """Route on the raw path, one segment per ``/`` the client sent: a revision ``feature%2Fx`` stays one
    segment (Starlette would decode it into two). Segment parameters are unquoted by the handlers."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = scope["raw_path"].decode("latin-1").split("?")[0]
            path = "/".join(quote(unquote(s), safe="") for s in raw.split("/"))
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def _repo_type(kind: str) -> str:
    if kind not in TYPES:
        raise HttpError(404, f"no such API route: /api/{kind}")
    return TYPES[kind]


def _repo_id(owner: str, name: str) -> str:
    return f"{unquote(owner)}/{unquote(name)}"


def build(store: LocalStore, *, token: str | None = None) -> FastAPI:
    """The FastAPI app serving ``store``."""
    auth = Auth(token)
    app = FastAPI(title="yolodeck hub", docs_url=None, redoc_url=None, openapi_url=None)
    for kind in (YolodeckError, HttpError, RequestValidationError):
        app.add_exception_handler(kind, _on_error)
    write = [Depends(auth.write)]  # the routes that change something

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    def info_dict(info: dict, repo_type: str) -> dict:
        out = {"id": info["id"], "sha": info.get("sha"), "private": info.get("private", False),
               "lastModified": info.get("lastModified"), "author": info["id"].split("/")[0],
               "siblings": [{"rfilename": f} for f in info.get("files", [])], "tags": [], "downloads": 0, "likes": 0}
        if repo_type == "space":
            out["sdk"] = info.get("sdk")
        return out

    def entry_json(path: str, size: int, oid: str) -> dict:
        return {"type": "file", "path": path, "size": size, "oid": oid}

    @app.post("/api/repos/create", dependencies=write)
    def create_repo(body: CreateRepo, request: Request) -> JSONResponse:
        repo_type = body.type or "model"
        url = f"{base(request)}/{PREFIX.get(repo_type, '')}{body.repo_id}"
        if store.repo_exists(body.repo_id, repo_type=repo_type):
            return JSONResponse({"error": "You already created this repo", "url": url}, status_code=409)
        private = bool(body.private) or body.visibility == "private"
        store.create_repo(body.repo_id, repo_type=repo_type, private=private, space_sdk=body.sdk)
        return JSONResponse({"url": url, "name": body.repo_id, "id": body.repo_id})

    @app.delete("/api/repos/delete", dependencies=write)
    def delete_repo(body: CreateRepo) -> JSONResponse:
        store.delete_repo(body.repo_id, repo_type=body.type or "model")
        return JSONResponse({})

    @app.post("/api/validate-yaml")
    def validate_yaml() -> JSONResponse:
        return JSONResponse({"errors": [], "warnings": []})

    @app.get("/api/{kind}")
    def list_repos(kind: str, request: Request) -> JSONResponse:
        repo_type = _repo_type(kind)
        author, search = request.query_params.get("author"), request.query_params.get("search") or ""
        items = [info_dict(i, repo_type) for i in store.list_repos(repo_type=repo_type, author=author or None)]
        return JSONResponse([i for i in items if search in i["id"]])

    @app.get("/api/{kind}/{owner}/{name}")
    @app.get("/api/{kind}/{owner}/{name}/revision/{revision}")
    def repo_info(kind: str, owner: str, name: str, revision: str | None = None) -> JSONResponse:
        repo_type = _repo_type(kind)
        info = store.repo_info(_repo_id(owner, name), repo_type=repo_type, revision=revision and unquote(revision))
        return JSONResponse(info_dict(info, repo_type))

    @app.get("/api/{kind}/{owner}/{name}/refs")
    def refs(kind: str, owner: str, name: str) -> JSONResponse:
        return JSONResponse({**store.list_refs(_repo_id(owner, name), repo_type=_repo_type(kind)), "converts": []})

    @app.get("/api/{kind}/{owner}/{name}/commits/{revision}")
    def commits(kind: str, owner: str, name: str, revision: str) -> JSONResponse:
        return JSONResponse(store.list_commits(_repo_id(owner, name), revision=unquote(revision),
                                               repo_type=_repo_type(kind)))

    @app.get("/api/{kind}/{owner}/{name}/tree/{revision}")
    @app.get("/api/{kind}/{owner}/{name}/tree/{revision}/{prefix:path}")
    def tree(kind: str, owner: str, name: str, revision: str, request: Request, prefix: str = "") -> JSONResponse:
        repo_id, revision, prefix = _repo_id(owner, name), unquote(revision), unquote(prefix).strip("/")
        files = store.tree(repo_id, revision=revision, repo_type=_repo_type(kind))
        recursive = request.query_params.get("recursive") in ("1", "true", "True")
        under = f"{prefix}/" if prefix else ""
        if prefix and not any(p.startswith(under) for p in files):
            raise HttpError(404, f"{prefix} not found in {repo_id}@{revision}", "EntryNotFound")
        out, folders = [], set()
        for path, e in files.items():
            if not path.startswith(under):
                continue
            parts = path[len(under):].split("/")
            if recursive or len(parts) == 1:
                out.append(entry_json(path, e.size, e.oid))
            depth = len(parts) - 1 if recursive else min(1, len(parts) - 1)  # the folders above the file shown
            folders.update(under + "/".join(parts[:i]) for i in range(1, depth + 1))
        return JSONResponse([{"type": "directory", "path": f, "oid": "0" * 40} for f in sorted(folders)] + out)

    @app.post("/api/{kind}/{owner}/{name}/paths-info/{revision}")
    async def paths_info(kind: str, owner: str, name: str, revision: str, request: Request) -> JSONResponse:
        wanted = (await request.form()).getlist("paths")
        files = store.tree(_repo_id(owner, name), revision=unquote(revision), repo_type=_repo_type(kind))
        return JSONResponse([entry_json(p, files[p].size, files[p].oid) for p in wanted if p in files])

    @app.post("/api/{kind}/{owner}/{name}/preupload/{revision}", dependencies=write)
    async def preupload(kind: str, owner: str, name: str, revision: str, request: Request) -> JSONResponse:
        store.resolve(_repo_id(owner, name), unquote(revision), repo_type=_repo_type(kind))
        body = await request.json()
        files = body.get("files", []) if isinstance(body, dict) else []
        return JSONResponse({"files": [{"path": f.get("path"), "uploadMode": "regular", "shouldIgnore": False}
                                       for f in files if isinstance(f, dict)]})

    @app.post("/api/{kind}/{owner}/{name}/commit/{revision}", dependencies=write)
    async def commit(kind: str, owner: str, name: str, revision: str, request: Request) -> JSONResponse:
        repo_type, repo_id = _repo_type(kind), _repo_id(owner, name)
        if request.query_params.get("create_pr") in ("1", "true", "True"):
            raise HttpError(400, "pull requests are not supported by this hub")
        with tempfile.TemporaryDirectory(prefix="yolodeck-upload-") as tmp:
            header, operations = await read_commit(request.stream(), Path(tmp))
            oid = store.commit(repo_id, operations, message=header.get("summary") or "upload",
                               description=header.get("description") or "", revision=unquote(revision),
                               parent_commit=header.get("parentCommit"), repo_type=repo_type)
        url = f"{base(request)}/{PREFIX[repo_type]}{repo_id}/commit/{oid}"
        return JSONResponse({"commitOid": oid, "commitUrl": url, "success": True})

    @app.post("/api/{kind}/{owner}/{name}/tag/{revision}", dependencies=write)
    def tag(kind: str, owner: str, name: str, revision: str, body: Tag) -> JSONResponse:
        _conflict(store.create_tag, _repo_id(owner, name), body.tag, revision=unquote(revision),
                  message=body.message, repo_type=_repo_type(kind))
        return JSONResponse({})

    @app.post("/api/{kind}/{owner}/{name}/branch/{branch}", dependencies=write)
    async def branch(kind: str, owner: str, name: str, branch: str, request: Request) -> JSONResponse:
        raw = await request.body()
        body = Branch.model_validate_json(raw) if raw else Branch()
        _conflict(store.create_branch, _repo_id(owner, name), unquote(branch), revision=body.startingPoint,
                  repo_type=_repo_type(kind))
        return JSONResponse({})

    def resolve_file(repo_type: str, owner: str, name: str, rest: str, request: Request) -> Response:
        """``rest`` is ``<revision>/<path>``, each segment still quoted."""
        revision, path = rest.split("/", 1)
        repo_id, path = _repo_id(owner, name), unquote(path)
        oid = store.resolve(repo_id, unquote(revision), repo_type=repo_type)
        try:
            _, entry = store.file_entry(repo_id, path, revision=oid, repo_type=repo_type)
        except EntryNotFoundError as exc:  # the client caches "absent at this commit" from X-Repo-Commit
            return error_response(404, str(exc), "EntryNotFound", **{"X-Repo-Commit": oid})
        headers = {"ETag": f'"{entry.oid}"', "X-Repo-Commit": oid, "Content-Length": str(entry.size),
                   "Accept-Ranges": "bytes", "Content-Disposition": f"inline; filename*=UTF-8''{quote(Path(path).name)}"}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return FileResponse(store.blob_path(entry.sha256), headers=headers, media_type="application/octet-stream")

    @app.api_route("/spaces/{owner}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve_space(owner: str, name: str, revision: str, path: str, request: Request) -> Response:
        return resolve_file("space", owner, name, f"{revision}/{path}", request)

    @app.api_route("/datasets/{owner}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve_dataset(owner: str, name: str, revision: str, path: str, request: Request) -> Response:
        return resolve_file("dataset", owner, name, f"{revision}/{path}", request)

    @app.api_route("/{owner}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve_model(owner: str, name: str, revision: str, path: str, request: Request) -> Response:
        return resolve_file("model", owner, name, f"{revision}/{path}", request)

    @app.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
    def not_found(rest: str, request: Request) -> Response:
        raise HttpError(404, f"no such route: {request.method} /{unquote(rest)}")

    return app


def _conflict(fn, *args, **kwargs) -> None:
    """A ref that already exists is a 409; a missing repo or revision stays a 404."""
    try:
        fn(*args, **kwargs)
    except RepoError as exc:
        if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
            raise
        raise HttpError(409, str(exc)) from exc


def create_app(root: str | Path | None = None, *, token: str | None = None) -> _KeepEncodedSlashes:
    """The ASGI app for ``hub serve``: the embedded hub at ``root`` (default: the usual one)."""
    return _KeepEncodedSlashes(build(LocalStore(root), token=token))
