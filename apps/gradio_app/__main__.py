"""``python -m apps.gradio_app``: run the app (see :mod:`apps.gradio_app.app` for the options)."""

from apps.gradio_app.app import main

raise SystemExit(main())
