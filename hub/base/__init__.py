"""The base layer: what every other part of ``hub`` stands on and which imports nothing of yolodeck.

``errors`` (every error the library raises), ``catalog`` (the backends and variant kinds that exist),
``settings`` (the ``YOLODECK_*`` environment, read once), ``offline`` (the offline switches) and ``paths``
(safe relative paths inside a repo).
"""
