"""A model repo store on huggingface.co or any Hub-compatible endpoint, through the real client.

The token comes from the usual places (``HF_TOKEN``, ``hf auth login``) or ``token=``; it is
handed to ``huggingface_hub`` and never printed or written anywhere by yolodeck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from hub.base.errors import (
    EntryNotFoundError,
    HubUnreachableError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from hub.base.offline import cache_dir
from hub.store import validate_repo_id

P = ParamSpec("P")
T = TypeVar("T")

MANIFEST = "manifest.json"

_NETWORK_ERRORS = ("ConnectError", "ConnectTimeout", "NetworkError", "TimeoutException", "OfflineModeIsEnabled")


def _translate(exc: Exception) -> Exception:
    from huggingface_hub import errors as hf

    if isinstance(exc, hf.LocalEntryNotFoundError):  # offline or unreachable, and not in the cache
        return HubUnreachableError(f"cannot reach the hub and it was never pulled here: {exc}".splitlines()[0])
    if isinstance(exc, hf.RevisionNotFoundError):
        return RevisionNotFoundError(str(exc).splitlines()[0])
    if isinstance(exc, hf.EntryNotFoundError):
        return EntryNotFoundError(str(exc).splitlines()[0])
    if isinstance(exc, hf.RepositoryNotFoundError):
        return RepositoryNotFoundError(str(exc).splitlines()[0])
    if isinstance(exc, hf.HfHubHTTPError):
        return RepoError(str(exc).splitlines()[0])
    if isinstance(exc, OSError | ConnectionError) or {c.__name__ for c in type(exc).__mro__} & set(_NETWORK_ERRORS):
        return HubUnreachableError(f"cannot reach the hub: {exc}".splitlines()[0])
    return exc


class HfStore:
    """The same operations as :class:`LocalStore`, over HTTP with ``huggingface_hub``."""

    def __init__(self, endpoint: str, *, token: str | bool | None = None) -> None:
        from huggingface_hub import HfApi

        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.api = HfApi(endpoint=self.endpoint, token=token)
        # huggingface.co shares the user's Hub cache; any other endpoint gets a Hub cache of its own, so two
        # servers with a repo of the same name never answer for each other offline
        self.cache = None if self.endpoint == "https://huggingface.co" else cache_dir() / "hf" / self.key

    def __repr__(self) -> str:
        return f"HfStore({self.endpoint!r})"

    @property
    def location(self) -> str:
        return self.endpoint

    @property
    def key(self) -> str:
        """A filesystem-safe name for this endpoint (cache folders)."""
        return "hf-" + "".join(c if c.isalnum() else "_" for c in self.endpoint.split("://")[-1])

    def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(exc) from exc

    def create_repo(self, repo_id: str, *, repo_type: str = "model", private: bool = False, exist_ok: bool = False,
                    space_sdk: str | None = None) -> None:
        validate_repo_id(repo_id)
        self._call(self.api.create_repo, repo_id, repo_type=repo_type, private=private, exist_ok=exist_ok,
                   space_sdk=space_sdk)

    def commit_folder(self, repo_id: str, folder: Path, *, message: str, repo_type: str = "model",
                      replace_all: bool = True, parent_commit: str | None = None) -> str:
        info = self._call(
            self.api.upload_folder, repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
            commit_message=message, delete_patterns=["*"] if replace_all else None, parent_commit=parent_commit,
        )
        return info.oid

    def create_tag(self, repo_id: str, tag: str, *, revision: str = "main", message: str | None = None,
                   exist_ok: bool = False, repo_type: str = "model") -> None:
        self._call(self.api.create_tag, repo_id, tag=tag, revision=revision, tag_message=message,
                   repo_type=repo_type, exist_ok=exist_ok)

    def resolve(self, repo_id: str, revision: str = "main", *, repo_type: str = "model") -> str:
        """Revision -> commit, with one request; unreachable or offline, the commit it had when last pulled.

        For a deck this fetches its manifest through ``hf_hub_download`` (a HEAD when cached), which records
        the revision in the Hub cache's refs: that record is what answers offline.
        """
        try:
            path = self.download(repo_id, MANIFEST, revision=revision, repo_type=repo_type)
        except EntryNotFoundError:  # not a deck: ask for the commit alone
            sha = self._call(self.api.repo_info, repo_id, revision=revision, repo_type=repo_type).sha
            if sha is None:
                raise RevisionNotFoundError(f"{self.endpoint} gave no commit for {repo_id}@{revision}") from None
            return sha
        return path.parent.name  # the Hub cache's snapshots/<commit>/ folder

    def list_refs(self, repo_id: str, *, repo_type: str = "model") -> dict[str, list[dict[str, Any]]]:
        refs = self._call(self.api.list_repo_refs, repo_id, repo_type=repo_type)
        return {
            "branches": [{"name": b.name, "ref": b.ref, "targetCommit": b.target_commit} for b in refs.branches],
            "tags": [{"name": t.name, "ref": t.ref, "targetCommit": t.target_commit} for t in refs.tags],
        }

    def list_commits(self, repo_id: str, *, revision: str = "main", repo_type: str = "model") -> list[dict[str, Any]]:
        commits = self._call(self.api.list_repo_commits, repo_id, revision=revision, repo_type=repo_type)
        return [{"id": c.commit_id, "title": c.title, "message": c.message,
                 "date": c.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "authors": [{"user": a} for a in c.authors]}
                for c in commits]

    def list_repos(self, *, repo_type: str | None = None, author: str | None = None) -> list[dict[str, Any]]:
        out = []
        for t in [repo_type] if repo_type else ["model", "space"]:
            listed: Iterable[Any] = self._call(self.api.list_models if t == "model" else self.api.list_spaces
                                               if t == "space" else self.api.list_datasets, author=author)
            for info in listed:
                out.append({"id": info.id, "type": t, "private": bool(info.private), "sha": info.sha,
                            "lastModified": info.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ") if info.last_modified else None})
        return out

    def files(self, repo_id: str, *, revision: str, repo_type: str = "model") -> list[str]:
        return self._call(self.api.list_repo_files, repo_id, revision=revision, repo_type=repo_type)

    def download(self, repo_id: str, path: str, *, revision: str, local_dir: Path | None = None,
                 repo_type: str = "model") -> Path:
        """One file through huggingface_hub's download and cache (or into ``local_dir``); its local path.

        Without ``local_dir`` the file lies in the cache's ``snapshots/<commit>/`` folder.
        """
        from huggingface_hub import hf_hub_download

        return Path(self._call(hf_hub_download, repo_id, path, revision=revision, repo_type=repo_type,
                               endpoint=self.endpoint, token=self.token, cache_dir=self.cache,
                               local_dir=local_dir))

