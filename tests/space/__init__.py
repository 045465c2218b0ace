"""Tests of the Spaces: the Gradio Space built from a wheel, and the static Space in Chromium."""
