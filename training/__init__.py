"""yolodeck training: datasets, Ultralytics training, the deck of exported variants, evaluation."""

import hub.base.offline  # noqa: F401  (first: the environment switches that keep every library offline)
