"""The deck contract: what a deck is and which of its variants runs, on top of the base layer only.

``manifest`` (the typed manifest and its JSON Schema), ``card`` (the model card, a view of a manifest),
``choose`` (the one place that picks a variant, with the accuracy tolerance) and ``probe`` (times detectors a
loader hands it, so that it knows nothing of repos or runtimes).
"""
