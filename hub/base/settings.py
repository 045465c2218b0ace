"""Every ``YOLODECK_*`` environment variable the project reads, in one place, read once per process.

As ``huggingface_hub``'s ``constants``: one module names each variable, its default and what it does, and the
rest of the code asks :func:`current` instead of ``os.environ``. The values are read at the first call, not at
import (``import hub`` reads nothing, and a test's conftest sets the environment before the first call);
:func:`reload` reads them again after a process changes its own environment (tests do).

A value that does not parse raises :class:`~hub.base.errors.SettingsError` naming the variable.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.base.errors import SettingsError


@dataclass(frozen=True)
class Settings:
    """The environment, parsed. ``None`` means "not set": the caller's own default applies."""

    endpoint: str | None = None  # YOLODECK_ENDPOINT: hub endpoint when none is given (default: the embedded hub)
    hub: Path | None = None  # YOLODECK_HUB: the embedded hub's folder (default: <cache>/hub)
    cache: Path | None = None  # YOLODECK_CACHE: yolodeck's cache (default: $XDG_CACHE_HOME/yolodeck)
    probe: bool = True  # YOLODECK_PROBE=0: choose variants by the deck's figures, no timing on this machine
    verbose: bool = False  # YOLODECK_VERBOSE=1: training's steps print everything as it comes
    webcam_time_limit: float = 120.0  # YOLODECK_WEBCAM_TIME_LIMIT: seconds one webcam stream may run in the app
    dashboard_repo: str | None = None  # YOLODECK_DASHBOARD_REPO: the dashboard's repo when --repo is not given
    dashboard_compare: str = ""  # YOLODECK_DASHBOARD_COMPARE: repos shown beside it, comma-separated
    web_vendor: Path | None = None  # YOLODECK_WEB_VENDOR: a node_modules with onnxruntime-web and plotly.js
    model: str | None = None  # YOLODECK_MODEL: a Space's model repo (a Space variable)
    revision: str | None = None  # YOLODECK_REVISION: a Space's revision (a Space variable)
    threads: int = 2  # YOLODECK_THREADS: a Space's inference threads
    busy_wait: bool = True  # YOLODECK_BUSY_WAIT=0: idle inference threads sleep, not spin (a CPU shared with other
    #                          work: a test run's workers, other services); the default where a caller sets none

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def text(name: str) -> str | None:
            return env.get(f"YOLODECK_{name}") or None

        def path(name: str) -> Path | None:
            value = text(name)
            return Path(value).expanduser() if value else None

        def number(name: str, kind: type[float] | type[int], default: float) -> float:
            value = text(name)
            if value is None:
                return default
            try:
                parsed = kind(value)
            except ValueError:
                raise SettingsError(f"$YOLODECK_{name}={value!r} is not a{'n integer' if kind is int else ' number'}"
                                    ) from None
            if parsed <= 0:
                raise SettingsError(f"$YOLODECK_{name}={value!r} must be above 0")
            return parsed

        return cls(endpoint=text("ENDPOINT"), hub=path("HUB"), cache=path("CACHE"),
                   probe=env.get("YOLODECK_PROBE", "1") != "0", verbose=env.get("YOLODECK_VERBOSE") == "1",
                   webcam_time_limit=float(number("WEBCAM_TIME_LIMIT", float, cls.webcam_time_limit)),
                   dashboard_repo=text("DASHBOARD_REPO"), dashboard_compare=text("DASHBOARD_COMPARE") or "",
                   web_vendor=path("WEB_VENDOR"), model=text("MODEL"), revision=text("REVISION"),
                   threads=int(number("THREADS", int, cls.threads)),
                   busy_wait=env.get("YOLODECK_BUSY_WAIT", "1") != "0")


@functools.cache
def current() -> Settings:
    """This process's settings, read from the environment at the first call."""
    return Settings.from_env(os.environ)


def reload() -> Settings:
    """Read the environment again (after this process changed it)."""
    current.cache_clear()
    return current()
