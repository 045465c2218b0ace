"""yolodeck hub: model repos of decks (manifest + card + variant files) and the runtime that runs them.

A lazy facade, as ``huggingface_hub`` has one: ``import hub`` sets the offline environment
defaults (``hub.base.offline``) and nothing else; ``hub.push`` / ``hub.pull`` / ``hub.load`` import
their module the first time they are used, so ``import hub.runtime`` stays lean.

Example:
    >>> import hub
    >>> detector = hub.load("acme/shelves", backend="tflite", precision="int8")
    >>> detector.detect("shelf.jpg").counts()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import hub.base.offline  # noqa: F401  (first: environment defaults only, no files)

# submodule -> the public names it provides
_SUBMODULES: dict[str, tuple[str, ...]] = {
    "api": ("RepoDeck", "VariantQuery", "load", "manifest_of", "open_deck", "open_store", "pull", "push",
            "resolve"),
    "runtime": ("Detections", "Detector"),
}
_NAMES = {name: module for module, names in _SUBMODULES.items() for name in names}

__all__ = sorted(_NAMES)

if TYPE_CHECKING:  # editors and type checkers see the names
    from hub.api import RepoDeck as RepoDeck
    from hub.api import VariantQuery as VariantQuery
    from hub.api import load as load
    from hub.api import manifest_of as manifest_of
    from hub.api import open_deck as open_deck
    from hub.api import open_store as open_store
    from hub.api import pull as pull
    from hub.api import push as push
    from hub.api import resolve as resolve
    from hub.runtime import Detections as Detections
    from hub.runtime import Detector as Detector


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"hub.{module}"), name)
    globals()[name] = value  # next time, no __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])
