"""yolodeck apps: the Gradio detection app and the Streamlit metrics dashboard. They import hub, never training."""

import hub.base.offline  # noqa: F401  (first: the environment switches that keep every library offline)
