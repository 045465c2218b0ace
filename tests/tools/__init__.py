"""Tools for the tests: `python -m tests.tools.mutations` (hand-made bugs the tests must catch)."""
