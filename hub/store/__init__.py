"""Where model repos live: the embedded local store (default) or any Hub-compatible endpoint."""

from __future__ import annotations

import re
from pathlib import Path

from hub.base import settings
from hub.base.errors import InvalidRepoIdError
from hub.base.offline import cache_dir
from hub.base.paths import safe_relpath

REPO_TYPES = ("model", "space", "dataset")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^(?:{_NAME}/)?{_NAME}$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def validate_repo_id(repo_id: str) -> str:
    """``owner/name`` (or ``name``): letters, digits, '.', '_', '-'; no '..' or '--'."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise InvalidRepoIdError(
            f"repo id {repo_id!r} is not valid: use OWNER/NAME with letters, digits, '.', '_' and '-' "
            "(no '..' or '--')"
        )
    return repo_id


def validate_revision(revision: str) -> str:
    if not isinstance(revision, str) or not _REVISION.match(revision) or ".." in revision or revision.endswith("/"):
        raise InvalidRepoIdError(f"revision {revision!r} is not a valid branch, tag or commit name")
    return revision


def validate_path(path: str) -> str:
    """A file path inside a repo: relative, no '..', no backslashes."""
    try:
        return safe_relpath(path, "file path")
    except ValueError as exc:
        raise InvalidRepoIdError(str(exc)) from exc


def validate_repo_type(repo_type: str) -> str:
    if repo_type not in REPO_TYPES:
        raise InvalidRepoIdError(f"repo type {repo_type!r} is not one of {', '.join(REPO_TYPES)}")
    return repo_type


def default_root() -> Path:
    """The embedded hub: $YOLODECK_HUB, else <yolodeck cache>/hub."""
    return settings.current().hub or cache_dir() / "hub"
