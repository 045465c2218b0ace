"""``hub serve``: the Hugging Face Hub HTTP API over the local store.

Enough of it for the real ``huggingface_hub`` client (``HfApi(endpoint=...)`` with
``HF_HUB_DISABLE_XET=1``): create/delete repo, preupload + NDJSON commit, refs, tags,
branches, commits, tree, paths-info, repo info, repo listing, and ``resolve`` with the
``ETag`` / ``X-Repo-Commit`` headers that ``hf_hub_download`` and ``snapshot_download``
need. The contract is the client's own source (see shared/notes/hf-hub-contract.md).
Every file is uploaded inline ("regular"); there is no LFS or Xet.

Writes need ``Authorization: Bearer <token>`` when the server was started with a token.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from hub.errors import (
    ConcurrentPushError,
    EntryNotFoundError,
    InvalidRepoIdError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from hub.store.local import AddFile, DeleteFile, LocalStore

TYPES = {"models": "model", "spaces": "space", "datasets": "dataset"}
PREFIX = {"model": "", "space": "spaces/", "dataset": "datasets/"}


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, HttpError):
        status, message, code = exc.status, exc.message, exc.code
    elif isinstance(exc, RepositoryNotFoundError):
        status, message, code = 404, str(exc), "RepoNotFound"
    elif isinstance(exc, RevisionNotFoundError):
        status, message, code = 404, str(exc), "RevisionNotFound"
    elif isinstance(exc, EntryNotFoundError):
        status, message, code = 404, str(exc), "EntryNotFound"
    elif isinstance(exc, InvalidRepoIdError):
        status, message, code = 400, str(exc), None
    elif isinstance(exc, ConcurrentPushError):
        status, message, code = 412, str(exc), None
    elif isinstance(exc, RepoError):
        status, message, code = 409, str(exc), None
    else:
        raise exc
    headers = {"X-Error-Message": message.encode("ascii", "replace").decode()[:500]}
    if code:
        headers["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class HubServer:
    """The ASGI app. ``HubServer(store).app`` serves it; ``hub serve`` runs it with uvicorn."""

    def __init__(self, store: LocalStore, *, token: str | None = None) -> None:
        self.store, self.token = store, token
        self.app = Starlette(routes=[Route("/{path:path}", self.dispatch,
                                           methods=["GET", "HEAD", "POST", "PUT", "DELETE"])])

    # --- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _base(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    def _repo_url(self, request: Request, repo_type: str, repo_id: str) -> str:
        return f"{self._base(request)}/{PREFIX[repo_type]}{repo_id}"

    def _require_write(self, request: Request) -> None:
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            raise HttpError(401, "this hub needs a token to write: pass token= / set HF_TOKEN", "RepoNotFound")

    async def dispatch(self, request: Request) -> Response:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?")[0]
        segments = [unquote(s) for s in raw.strip("/").split("/")]
        try:
            if segments[0] == "api":
                return await self._api(request, segments[1:])
            return self._resolve(request, segments)
        except Exception as exc:  # noqa: BLE001 - mapped to the Hub's error headers, or re-raised
            return _error_response(exc)

    # --- /api ----------------------------------------------------------------------------------

    async def _api(self, request: Request, seg: list[str]) -> Response:
        method = request.method
        if seg[:2] == ["repos", "create"] and method == "POST":
            return await self._create_repo(request)
        if seg[:2] == ["repos", "delete"] and method == "DELETE":
            self._require_write(request)
            body = await request.json()
            repo_id = "/".join(x for x in (body.get("organization"), body["name"]) if x)
            self.store.delete_repo(repo_id, repo_type=body.get("type") or "model")
            return JSONResponse({})
        if seg == ["validate-yaml"]:
            return JSONResponse({"errors": [], "warnings": []})
        if seg[0] in TYPES and len(seg) == 1 and method == "GET":
            return self._list(request, TYPES[seg[0]])
        if seg[0] not in TYPES or len(seg) < 3:
            raise HttpError(404, f"no such API route: /api/{'/'.join(seg)}")
        repo_type, repo_id, action, rest = TYPES[seg[0]], f"{seg[1]}/{seg[2]}", seg[3] if len(seg) > 3 else "", seg[4:]
        handler = {
            ("", "GET"): self._info, ("revision", "GET"): self._info, ("refs", "GET"): self._refs,
            ("commits", "GET"): self._commits, ("tree", "GET"): self._tree, ("paths-info", "POST"): self._paths_info,
            ("preupload", "POST"): self._preupload, ("commit", "POST"): self._commit, ("tag", "POST"): self._tag,
            ("branch", "POST"): self._branch,
        }.get((action, method))
        if handler is None:
            raise HttpError(404, f"no such API route: {method} /api/{'/'.join(seg)}")
        if method == "POST" and action != "paths-info":
            self._require_write(request)
        return await handler(request, repo_type, repo_id, rest)

    async def _create_repo(self, request: Request) -> Response:
        self._require_write(request)
        body = await request.json()
        repo_type = body.get("type") or "model"
        repo_id = "/".join(x for x in (body.get("organization"), body.get("name")) if x)
        url = self._repo_url(request, repo_type, repo_id)
        if self.store.repo_exists(repo_id, repo_type=repo_type):
            return JSONResponse({"error": "You already created this repo", "url": url}, status_code=409)
        private = bool(body.get("private")) or body.get("visibility") == "private"
        self.store.create_repo(repo_id, repo_type=repo_type, private=private, space_sdk=body.get("sdk"))
        return JSONResponse({"url": url, "name": repo_id, "id": repo_id})

    def _list(self, request: Request, repo_type: str) -> Response:
        params = parse_qs(request.url.query)
        author = (params.get("author") or [None])[0]
        search = (params.get("search") or [""])[0]
        items = [self._info_dict(i, repo_type) for i in self.store.list_repos(repo_type=repo_type)]
        items = [i for i in items if (not author or i["id"].startswith(author + "/")) and search in i["id"]]
        return JSONResponse(items)

    @staticmethod
    def _info_dict(info: dict, repo_type: str) -> dict:
        out = {"id": info["id"], "sha": info.get("sha"), "private": info.get("private", False),
               "lastModified": info.get("lastModified"), "author": info["id"].split("/")[0],
               "siblings": [{"rfilename": f} for f in info.get("files", [])], "tags": [], "downloads": 0, "likes": 0}
        if repo_type == "space":
            out["sdk"] = info.get("sdk")
        return out

    async def _info(self, request, repo_type, repo_id, rest):
        info = self.store.repo_info(repo_id, repo_type=repo_type, revision=rest[0] if rest else None)
        return JSONResponse(self._info_dict(info, repo_type))

    async def _refs(self, request, repo_type, repo_id, rest):
        return JSONResponse({**self.store.list_refs(repo_id, repo_type=repo_type), "converts": []})

    async def _commits(self, request, repo_type, repo_id, rest):
        commits = self.store.list_commits(repo_id, revision=rest[0] if rest else "main", repo_type=repo_type)
        return JSONResponse(commits)

    @staticmethod
    def _entry_json(path: str, size: int, oid: str) -> dict:
        return {"type": "file", "path": path, "size": size, "oid": oid}

    async def _tree(self, request, repo_type, repo_id, rest):
        revision, prefix = (rest[0] if rest else "main"), "/".join(rest[1:]).strip("/")
        recursive = (parse_qs(request.url.query).get("recursive") or ["false"])[0] == "true"
        tree = self.store.tree(repo_id, revision=revision, repo_type=repo_type)
        base = f"{prefix}/" if prefix else ""
        if prefix and not any(p.startswith(base) for p in tree):
            raise HttpError(404, f"{prefix} not found in {repo_id}@{revision}", "EntryNotFound")
        out, folders = [], set()
        for path, e in tree.items():
            if not path.startswith(base):
                continue
            sub = path[len(base):]
            if recursive:
                parts = sub.split("/")
                for i in range(1, len(parts)):
                    folders.add(base + "/".join(parts[:i]))
                out.append(self._entry_json(path, e.size, e.oid))
            elif "/" in sub:
                folders.add(base + sub.split("/")[0])
            else:
                out.append(self._entry_json(path, e.size, e.oid))
        dirs = [{"type": "directory", "path": f, "oid": "0" * 40} for f in sorted(folders)]
        return JSONResponse(dirs + out)

    async def _paths_info(self, request, repo_type, repo_id, rest):
        form = parse_qs((await request.body()).decode())
        tree = self.store.tree(repo_id, revision=rest[0] if rest else "main", repo_type=repo_type)
        return JSONResponse([self._entry_json(p, tree[p].size, tree[p].oid) for p in form.get("paths", []) if p in tree])

    async def _preupload(self, request, repo_type, repo_id, rest):
        self.store.resolve(repo_id, rest[0] if rest else "main", repo_type=repo_type)
        body = await request.json()
        return JSONResponse({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                       for f in body.get("files", [])]})

    async def _commit(self, request, repo_type, repo_id, rest):
        revision = rest[0] if rest else "main"
        if parse_qs(request.url.query).get("create_pr") in (["1"], ["true"], ["True"]):
            raise HttpError(400, "pull requests are not supported by this hub")
        header: dict = {}
        operations: list[AddFile | DeleteFile] = []
        with tempfile.TemporaryDirectory(prefix="yolodeck-upload-") as tmp:
            buffer = b""
            async for chunk in request.stream():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._commit_line(line, header, operations, Path(tmp))
            self._commit_line(buffer, header, operations, Path(tmp))
            oid = self.store.commit(
                repo_id, operations, message=header.get("summary") or "upload", description=header.get("description") or "",
                revision=revision, parent_commit=header.get("parentCommit"), repo_type=repo_type,
            )
        return JSONResponse({"commitOid": oid, "commitUrl": f"{self._repo_url(request, repo_type, repo_id)}/commit/{oid}",
                             "success": True})

    @staticmethod
    def _commit_line(line: bytes, header: dict, operations: list, tmp: Path) -> None:
        if not line.strip():
            return
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
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
            except (binascii.Error, KeyError) as exc:
                raise HttpError(400, f"bad base64 content for {value.get('path')}") from exc
            operations.append(AddFile(value["path"], target))
        elif key in ("deletedFile", "deletedFolder"):
            operations.append(DeleteFile(value["path"]))
        elif key == "lfsFile":
            raise HttpError(400, "LFS uploads are not supported by this hub (it asks for regular uploads)")
        else:
            raise HttpError(400, f"unknown commit operation {key!r}")

    async def _tag(self, request, repo_type, repo_id, rest):
        body = await request.json()
        try:
            self.store.create_tag(repo_id, body["tag"], revision=rest[0] if rest else "main",
                                  message=body.get("message"), repo_type=repo_type)
        except RepoError as exc:
            if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
                raise
            raise HttpError(409, str(exc)) from exc
        return JSONResponse({})

    async def _branch(self, request, repo_type, repo_id, rest):
        body = await request.json() if (await request.body()) else {}
        try:
            self.store.create_branch(repo_id, "/".join(rest), revision=body.get("startingPoint"), repo_type=repo_type)
        except RepoError as exc:
            if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
                raise
            raise HttpError(409, str(exc)) from exc
        return JSONResponse({})

    # --- /resolve ------------------------------------------------------------------------------

    def _resolve(self, request: Request, seg: list[str]) -> Response:
        repo_type = "model"
        if seg and seg[0] in ("spaces", "datasets"):
            repo_type, seg = TYPES[seg[0]], seg[1:]
        if len(seg) < 5 or seg[2] != "resolve" or request.method not in ("GET", "HEAD"):
            raise HttpError(404, "not found")
        repo_id, revision, path = f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:])
        commit = self.store.resolve(repo_id, revision, repo_type=repo_type)
        try:
            _, entry = self.store.file_entry(repo_id, path, revision=commit, repo_type=repo_type)
        except EntryNotFoundError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404,
                                headers={"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit,
                                         "X-Error-Message": str(exc)[:300]})
        headers = {"ETag": f'"{entry.oid}"', "X-Repo-Commit": commit, "Content-Length": str(entry.size),
                   "Accept-Ranges": "bytes", "Content-Disposition": f"inline; filename*=UTF-8''{quote(Path(path).name)}"}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return FileResponse(self.store.blob_path(entry.sha256), headers=headers, media_type="application/octet-stream")


def create_app(root: str | Path | None = None, *, token: str | None = None) -> Starlette:
    return HubServer(LocalStore(root), token=token).app
