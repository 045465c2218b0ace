"""``hub serve``: the Hugging Face Hub HTTP API over the local store, on FastAPI routes.

Enough of it for the real ``huggingface_hub`` client (``HfApi(endpoint=...)`` with
``HF_HUB_DISABLE_XET=1``): create/delete repo, preupload + NDJSON commit, refs, tags,
branches, commits, tree, paths-info, repo info, repo listing, and ``resolve`` with the
``ETag`` / ``X-Repo-Commit`` headers that ``hf_hub_download`` and ``snapshot_download``
need. The contract is the client's own source (``huggingface_hub``'s ``hf_api.py`` and ``file_download.py``),
which the tests run against this server.
Every file is uploaded inline ("regular"); there is no LFS or Xet.

One exception handler (:mod:`hub.server.gate`) maps yolodeck's errors to the Hub's status codes, ``X-Error-Code`` and
``{"error": ...}`` bodies; one dependency (:class:`~hub.server.access.Access`) says who may read and
write what; request sizes are bounded by :class:`~hub.server.commit_body.Limits` (413 past them).
"""


import errno
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response

from hub.base.errors import (
    EntryNotFoundError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    StorageFullError,
)
from hub.server.access import Access
from hub.server.commit_body import DEFAULT_LIMITS, Branch, CreateRepo, HttpError, Limits, Tag, read_commit
from hub.server.gate import HANDLED, Gate, error_response, on_error
from hub.server.tokens import Token
from hub.store.local import LocalStore

TYPES = {"models": "model", "spaces": "space", "datasets": "dataset"}
PREFIX = {"model": "", "space": "spaces/", "dataset": "datasets/"}
# CORS as the Hub answers it on resolve and API routes, so a page on another origin (a static Space) can load a
# deck: any origin, no cookies (a token travels as Authorization), and the headers a download reads exposed.
CORS: dict[str, Any] = {"allow_origins": ["*"], "allow_credentials": False, "allow_methods": ["GET", "HEAD", "POST", "OPTIONS"],
        "allow_headers": ["authorization", "range", "content-type", "user-agent", "x-requested-with"],
        "expose_headers": ["X-Repo-Commit", "ETag", "X-Linked-Etag", "X-Linked-Size", "Content-Range",
                           "Accept-Ranges", "Content-Length", "X-Error-Code", "X-Error-Message"],
        "max_age": 3600}
def _repo_type(kind: str) -> str:
    if kind not in TYPES:
        raise HttpError(404, f"no such API route: /api/{kind}")
    return TYPES[kind]


def _repo_id(owner: str, name: str) -> str:
    return f"{unquote(owner)}/{unquote(name)}"


def build(store: LocalStore, *, token: str | None = None, private: bool = False,
          limits: Limits = DEFAULT_LIMITS) -> FastAPI:
    """The FastAPI app serving ``store``: ``token`` is a write token for every namespace; ``private``, every
    read needs a token too."""
    access = Access(store, env_token=token, private=private)
    app = FastAPI(title="yolodeck hub", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(CORSMiddleware, **CORS)
    for kind in HANDLED:
        app.add_exception_handler(kind, on_error)
    Caller = Annotated[Token | None, Depends(access.caller)]  # noqa: N806 - a type, read as one

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    def info_dict(info: dict[str, Any], repo_type: str) -> dict[str, Any]:
        out = {"id": info["id"], "sha": info.get("sha"), "private": info.get("private", False),
               "lastModified": info.get("lastModified"), "author": info["id"].split("/")[0],
               "siblings": [{"rfilename": f} for f in info.get("files", [])], "tags": [], "downloads": 0, "likes": 0}
        if repo_type == "space":
            out["sdk"] = info.get("sdk")
        return out

    def entry_json(path: str, size: int, oid: str) -> dict[str, Any]:
        return {"type": "file", "path": path, "size": size, "oid": oid}

    def readable(caller: Token | None, kind: str, owner: str, name: str) -> tuple[str, str]:
        repo_type, repo_id = _repo_type(kind), _repo_id(owner, name)
        access.read(caller, repo_id, repo_type)
        return repo_type, repo_id

    def writable(caller: Token | None, kind: str, owner: str, name: str) -> tuple[str, str]:
        repo_type, repo_id = _repo_type(kind), _repo_id(owner, name)
        access.write(caller, repo_id, repo_type)
        return repo_type, repo_id

    @app.post("/api/repos/create")
    def create_repo(body: CreateRepo, request: Request, caller: Caller) -> JSONResponse:
        repo_type = body.type or "model"
        url = f"{base(request)}/{PREFIX.get(repo_type, '')}{body.repo_id}"
        exists = store.repo_exists(body.repo_id, repo_type=repo_type)
        access.write(caller, body.repo_id, repo_type, exists=exists)
        if exists:
            return JSONResponse({"error": "You already created this repo", "url": url}, status_code=409)
        is_private = bool(body.private) or body.visibility == "private"
        store.create_repo(body.repo_id, repo_type=repo_type, private=is_private, space_sdk=body.sdk)
        return JSONResponse({"url": url, "name": body.repo_id, "id": body.repo_id})

    @app.delete("/api/repos/delete")
    def delete_repo(body: CreateRepo, caller: Caller) -> JSONResponse:
        access.write(caller, body.repo_id, body.type or "model")
        store.delete_repo(body.repo_id, repo_type=body.type or "model")
        return JSONResponse({})

    @app.post("/api/validate-yaml")
    def validate_yaml() -> JSONResponse:
        return JSONResponse({"errors": [], "warnings": []})

    @app.get("/api/{kind}")
    def list_repos(kind: str, request: Request, caller: Caller) -> JSONResponse:
        repo_type = _repo_type(kind)
        author, search = request.query_params.get("author"), request.query_params.get("search") or ""
        items = [info_dict(i, repo_type) for i in store.list_repos(repo_type=repo_type, author=author or None)
                 if access.may_read(caller, i["id"], private=bool(i.get("private")))]
        return JSONResponse([i for i in items if search in i["id"]])

    @app.get("/api/{kind}/{owner}/{name}")
    @app.get("/api/{kind}/{owner}/{name}/revision/{revision}")
    def repo_info(kind: str, owner: str, name: str, caller: Caller, revision: str | None = None) -> JSONResponse:
        repo_type, repo_id = readable(caller, kind, owner, name)
        info = store.repo_info(repo_id, repo_type=repo_type, revision=revision and unquote(revision))
        return JSONResponse(info_dict(info, repo_type))

    @app.get("/api/{kind}/{owner}/{name}/refs")
    def refs(kind: str, owner: str, name: str, caller: Caller) -> JSONResponse:
        repo_type, repo_id = readable(caller, kind, owner, name)
        return JSONResponse({**store.list_refs(repo_id, repo_type=repo_type), "converts": []})

    @app.get("/api/{kind}/{owner}/{name}/commits/{revision}")
    def commits(kind: str, owner: str, name: str, revision: str, caller: Caller) -> JSONResponse:
        repo_type, repo_id = readable(caller, kind, owner, name)
        return JSONResponse(store.list_commits(repo_id, revision=unquote(revision), repo_type=repo_type))

    @app.get("/api/{kind}/{owner}/{name}/tree/{revision}")
    @app.get("/api/{kind}/{owner}/{name}/tree/{revision}/{prefix:path}")
    def tree(kind: str, owner: str, name: str, revision: str, request: Request, caller: Caller,
             prefix: str = "") -> JSONResponse:
        repo_type, repo_id = readable(caller, kind, owner, name)
        revision, prefix = unquote(revision), unquote(prefix).strip("/")
        files = store.tree(repo_id, revision=revision, repo_type=repo_type)
        recursive = request.query_params.get("recursive") in ("1", "true", "True")
        under = f"{prefix}/" if prefix else ""
        if prefix and not any(p.startswith(under) for p in files):
            raise HttpError(404, f"{prefix} not found in {repo_id}@{revision}", "EntryNotFound")
        out: list[dict[str, Any]] = []
        folders: set[str] = set()
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
    async def paths_info(kind: str, owner: str, name: str, revision: str, request: Request,
                         caller: Caller) -> JSONResponse:
        repo_type, repo_id = readable(caller, kind, owner, name)
        wanted = (await request.form()).getlist("paths")
        files = store.tree(repo_id, revision=unquote(revision), repo_type=repo_type)
        return JSONResponse([entry_json(p, files[p].size, files[p].oid) for p in wanted if p in files])

    @app.post("/api/{kind}/{owner}/{name}/preupload/{revision}")
    async def preupload(kind: str, owner: str, name: str, revision: str, request: Request,
                        caller: Caller) -> JSONResponse:
        repo_type, repo_id = writable(caller, kind, owner, name)
        store.resolve(repo_id, unquote(revision), repo_type=repo_type)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise HttpError(400, f"the preupload body is not JSON: {exc}") from exc
        files = body.get("files", []) if isinstance(body, dict) else []
        return JSONResponse({"files": [{"path": f.get("path"), "uploadMode": "regular", "shouldIgnore": False}
                                       for f in files if isinstance(f, dict)]})

    @app.post("/api/{kind}/{owner}/{name}/commit/{revision}")
    async def commit(kind: str, owner: str, name: str, revision: str, request: Request,
                     caller: Caller) -> JSONResponse:
        repo_type, repo_id = writable(caller, kind, owner, name)
        if request.query_params.get("create_pr") in ("1", "true", "True"):
            raise HttpError(400, "pull requests are not supported by this hub")
        try:
            with tempfile.TemporaryDirectory(prefix="yolodeck-upload-", dir=store.root / "staging") as tmp:
                header, operations = await read_commit(request.stream(), Path(tmp), limits)
                oid = store.commit(repo_id, operations, message=header.get("summary") or "upload",
                                   description=header.get("description") or "", revision=unquote(revision),
                                   parent_commit=header.get("parentCommit"), repo_type=repo_type)
        except OSError as exc:  # the upload itself filled the disk
            if exc.errno != errno.ENOSPC:
                raise
            raise StorageFullError(f"the hub's disk is full: the commit to {repo_id} was not made") from exc
        url = f"{base(request)}/{PREFIX[repo_type]}{repo_id}/commit/{oid}"
        return JSONResponse({"commitOid": oid, "commitUrl": url, "success": True})

    @app.post("/api/{kind}/{owner}/{name}/tag/{revision}")
    def tag(kind: str, owner: str, name: str, revision: str, body: Tag, caller: Caller) -> JSONResponse:
        repo_type, repo_id = writable(caller, kind, owner, name)
        _conflict(store.create_tag, repo_id, body.tag, revision=unquote(revision), message=body.message,
                  repo_type=repo_type)
        return JSONResponse({})

    @app.post("/api/{kind}/{owner}/{name}/branch/{branch}")
    async def branch(kind: str, owner: str, name: str, branch: str, request: Request, caller: Caller) -> JSONResponse:
        repo_type, repo_id = writable(caller, kind, owner, name)
        raw = await request.body()
        body = Branch.model_validate_json(raw) if raw else Branch()
        _conflict(store.create_branch, repo_id, unquote(branch), revision=body.startingPoint, repo_type=repo_type)
        return JSONResponse({})

    def resolve_file(repo_type: str, owner: str, name: str, rest: str, request: Request,
                     caller: Token | None) -> Response:
        """``rest`` is ``<revision>/<path>``, each segment still quoted."""
        revision, path = rest.split("/", 1)
        repo_id, path = _repo_id(owner, name), unquote(path)
        access.read(caller, repo_id, repo_type)
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
    def resolve_space(owner: str, name: str, revision: str, path: str, request: Request, caller: Caller) -> Response:
        return resolve_file("space", owner, name, f"{revision}/{path}", request, caller)

    @app.api_route("/datasets/{owner}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve_dataset(owner: str, name: str, revision: str, path: str, request: Request, caller: Caller) -> Response:
        return resolve_file("dataset", owner, name, f"{revision}/{path}", request, caller)

    @app.api_route("/{owner}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve_model(owner: str, name: str, revision: str, path: str, request: Request, caller: Caller) -> Response:
        return resolve_file("model", owner, name, f"{revision}/{path}", request, caller)

    @app.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
    def not_found(rest: str, request: Request) -> Response:
        raise HttpError(404, f"no such route: {request.method} /{unquote(rest)}")

    return app


def _conflict(fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """A ref that already exists is a 409; a missing repo or revision stays a 404."""
    try:
        fn(*args, **kwargs)
    except RepoError as exc:
        if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
            raise
        raise HttpError(409, str(exc)) from exc


def create_app(root: str | Path | None = None, *, token: str | None = None, private: bool = False,
               limits: Limits = DEFAULT_LIMITS) -> Gate:
    """The ASGI app for ``hub serve``: the embedded hub at ``root`` (default: the usual one)."""
    store = LocalStore(root)
    (store.root / "staging").mkdir(exist_ok=True)
    return Gate(build(store, token=token, private=private, limits=limits), limits)
