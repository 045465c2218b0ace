"""What every repo client does, as one typed Protocol: the embedded store (:class:`~hub.store.local.LocalStore`)
and a Hub endpoint (:class:`~hub.store.hf.HfStore`) both answer it, and ``hub.api`` and the apps use nothing else
(a type checker holds both to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class RepoClient(Protocol):
    """Model repos somewhere: make them, commit a folder, tag, resolve a revision, list, download a file."""

    @property
    def key(self) -> str:
        """A filesystem-safe name for where the repos live (cache folders)."""

    @property
    def location(self) -> str:
        """Where the repos live, for people (a folder or a URL)."""

    def create_repo(self, repo_id: str, *, repo_type: str = "model", private: bool = False, exist_ok: bool = False,
                    space_sdk: str | None = None) -> object: ...

    def commit_folder(self, repo_id: str, folder: Path, *, message: str, repo_type: str = "model",
                      replace_all: bool = True, parent_commit: str | None = None) -> str:
        """Commit ``folder`` as one commit; its id."""

    def create_tag(self, repo_id: str, tag: str, *, revision: str = "main", message: str | None = None,
                   exist_ok: bool = False, repo_type: str = "model") -> object: ...

    def resolve(self, repo_id: str, revision: str = "main", *, repo_type: str = "model") -> str:
        """A branch, tag or commit id -> the commit id."""

    def list_refs(self, repo_id: str, *, repo_type: str = "model") -> dict[str, list[dict[str, Any]]]: ...

    def list_commits(self, repo_id: str, *, revision: str = "main",
                     repo_type: str = "model") -> list[dict[str, Any]]: ...

    def list_repos(self, *, repo_type: str | None = None, author: str | None = None) -> list[dict[str, Any]]: ...

    def files(self, repo_id: str, *, revision: str, repo_type: str = "model") -> list[str]: ...

    def download(self, repo_id: str, path: str, *, revision: str, local_dir: Path | None = None,
                 repo_type: str = "model") -> Path:
        """One file of a commit, checked; its local path (in the cache, or in ``local_dir``)."""
