"""Scripts run with other projects' own clients, each in a venv of its own (build/venv-NAME, from requirements-NAME.txt)."""
