"""yolodeck hub: model repos of decks (manifest + card + variant files) and the runtime that runs them."""

import hub.offline  # noqa: F401  (first: keeps every library offline)
