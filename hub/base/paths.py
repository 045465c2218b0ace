"""Safe relative paths: what a manifest, a repo's file list and a request may name inside a folder."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from hub.base.errors import ManifestError


def is_safe_relpath(value: str) -> bool:
    """A relative POSIX path inside a folder: not absolute, no '..', no backslashes, no '~' start, no
    control or invisible format characters (NUL, right-to-left override, zero-width), and still so once
    Unicode-normalized (a fullwidth '\uff0e\uff0e' is '..' to some file systems and tools)."""
    if not isinstance(value, str) or not value or any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        return False
    for form in {value, unicodedata.normalize("NFKC", value)}:
        p = PurePosixPath(form)
        if "\\" in form or p.is_absolute() or ".." in p.parts or form.startswith("~"):
            return False
    return True


def relpath(value: str) -> str:
    """``value`` as a normal relative path; ValueError (what pydantic reports by field) if it is not safe."""
    if not is_safe_relpath(value):
        raise ValueError(f"{value!r} is not a safe relative path inside the deck")
    return str(PurePosixPath(value))


def safe_relpath(value: str, what: str) -> str:
    try:
        return relpath(value)
    except ValueError:
        raise ManifestError(f"{what} {value!r} is not a safe relative path inside the deck") from None
