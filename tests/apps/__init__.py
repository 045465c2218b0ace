"""Tests of the apps: the Gradio app (through gradio_client and in Chromium), the dashboard and the service."""
