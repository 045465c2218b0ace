"""yolodeck hub: model repos of decks (manifest + card + variant files) and the runtime that runs them."""

import hub.offline  # noqa: F401  (first: keeps every library offline)
from hub.api import load, manifest_of, open_store, pull, push, resolve  # noqa: E402

__all__ = ["load", "manifest_of", "open_store", "pull", "push", "resolve"]
