"""Assemble a Hugging Face Space that serves a model repo, check its config, push it in one commit.

Three kinds: ``static`` (the deck runs in the visitor's browser with onnxruntime-web: free to host
for every account, ``space/static_space.py``), ``gradio`` (the detection app; SDK gradio, lean
requirements, no torch; the Hub hosts it on free hardware only for PRO and Team accounts) and
``docker`` (the Streamlit dashboard: Streamlit is no longer a built-in Space SDK, so it runs
in a Dockerfile). The folder holds only what the app needs: ``app.py``, ``hub/`` without
its server and CLI, the app modules, ``requirements.txt``, ``README.md`` with the front
matter the Hub reads, and ``space_config.json`` pinning the model repo and revision.

Every file comes from the installed packages (``hub``, ``apps`` and this ``space`` package, whose template
files are package data), so ``pip install .`` then ``hub space build`` works outside a checkout. ``hub space``
(the CLI) imports this module when it runs: nothing else in ``hub`` knows of Spaces.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hub.base.errors import SpaceConfigError
from hub.store import validate_repo_id

COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SDKS = ("gradio", "docker", "static")
# what of apps/ each kind of Space runs: whole files and folders (a new module in the app's package goes with it)
APP_PARTS = {"gradio": ["__init__.py", "charts.py", "gradio_app"], "docker": ["__init__.py", "charts.py", "dashboard.py"]}
HUB_EXCLUDE = ("cli", "server", "__pycache__")  # a Space runs decks; it serves no hub
DOCKER_PORT = 7860
# a static Space's headers: what onnxruntime-web needs for threads (SharedArrayBuffer); the only ones the Hub accepts
STATIC_HEADERS = {"cross-origin-embedder-policy": "require-corp", "cross-origin-opener-policy": "same-origin",
                  "cross-origin-resource-policy": "cross-origin"}


def front_matter(*, model: str, sdk: str = "gradio", title: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "title": title or f"yolodeck: {model.split('/')[-1]}",
        "emoji": "🛒",
        "colorFrom": "blue",
        "colorTo": "green",
        "sdk": sdk,
    }
    if sdk == "gradio":
        meta |= {"sdk_version": importlib.metadata.version("gradio"), "app_file": "app.py", "python_version": "3.11"}
    elif sdk == "static":
        meta |= {"app_file": "index.html", "custom_headers": dict(STATIC_HEADERS)}
    else:
        meta |= {"app_port": DOCKER_PORT}
    meta |= {
        "license": "agpl-3.0",
        "models": [model],
        "short_description": {"gradio": "Detect objects with every variant of a YOLO deck",
                              "static": "YOLO detection in your browser: no server"}.get(
                                  sdk, "Benchmark dashboard of a YOLO deck's variants"),
        "pinned": False,
    }
    return meta


def check_front_matter(meta: dict[str, Any]) -> None:
    """The Space config rules (fields and types) from the Hub's configuration reference."""
    errors = []
    types = {"title": str, "emoji": str, "colorFrom": str, "colorTo": str, "sdk": str, "sdk_version": str,
             "python_version": str, "app_file": str, "app_port": int, "license": str, "models": list,
             "datasets": list, "tags": list, "short_description": str, "pinned": bool, "fullWidth": bool,
             "custom_headers": dict}
    for key, kind in types.items():
        if key in meta and not isinstance(meta[key], kind):
            errors.append(f"{key} must be a {kind.__name__}, not {type(meta[key]).__name__}")
    for key in ("title", "sdk"):
        if key not in meta:
            errors.append(f"{key} is required")
    if meta.get("sdk") not in SDKS:
        errors.append(f"sdk must be one of {', '.join(SDKS)}")
    for key in ("colorFrom", "colorTo"):
        if key in meta and meta[key] not in COLORS:
            errors.append(f"{key} must be one of {', '.join(COLORS)}")
    if meta.get("sdk") == "gradio" and not isinstance(meta.get("sdk_version"), str):
        errors.append("a gradio Space needs sdk_version (the pinned Gradio)")
    if meta.get("sdk") == "docker" and "app_file" in meta:
        errors.append("a docker Space has no app_file (the Dockerfile's CMD starts it)")
    if meta.get("sdk") == "static" and not str(meta.get("app_file", "")).endswith(".html"):
        errors.append("a static Space needs app_file, its HTML page")
    for header in set(meta.get("custom_headers") or {}) - set(STATIC_HEADERS):
        errors.append(f"custom_headers: {header!r} is not one the Hub accepts ({', '.join(sorted(STATIC_HEADERS))})")
    if len(meta.get("short_description", "")) > 60:
        errors.append("short_description must be at most 60 characters")
    for model in meta.get("models", []):
        try:
            validate_repo_id(model)
        except ValueError as exc:
            errors.append(f"models: {exc}")
    if errors:
        raise SpaceConfigError("Space README front matter: " + "; ".join(errors))


def _readme(meta: dict[str, Any], *, model: str, revision: str) -> str:
    """The Space's README: ``SpaceCardData`` front matter (checked first) and a line on what it serves."""
    from huggingface_hub import SpaceCard, SpaceCardData

    check_front_matter(meta)
    what = {"gradio": "detection app", "docker": "metrics dashboard",
            "static": "in-browser detection page (the model runs in the visitor's browser; no server)"}[meta["sdk"]]
    data = SpaceCardData(**meta)
    return str(SpaceCard(f"---\n{data.to_yaml()}\n---\n\n# {meta['title']}\n\n"
            f"The yolodeck {what} for [{model}](https://huggingface.co/{model}) at revision `{revision}`. "
            + ("Build it again for another model or revision: `hub space push --sdk static --model OWNER/NAME`.\n"
               if meta["sdk"] == "static" else
               "Change the model with the Space variables `YOLODECK_MODEL` and `YOLODECK_REVISION`.\n")))


DOCKERFILE = """FROM python:3.11-slim
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /home/user/app
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user -r requirements.txt
COPY --chown=user . .
EXPOSE {port}
CMD ["streamlit", "run", "apps/dashboard.py", "--server.port", "{port}", "--server.address", "0.0.0.0", \\
     "--server.headless", "true", "--browser.gatherUsageStats", "false"]
"""


def assemble(out: str | Path, *, model: str, revision: str = "main", endpoint: str | None = None,
             sdk: str = "gradio", variants: list[str] | None = None, bundle: bool = False) -> Path:
    """Write the Space folder for ``model`` into ``out`` and return it (``variants`` and ``bundle``: static only)."""
    validate_repo_id(model)
    if sdk not in SDKS:
        raise SpaceConfigError(f"sdk {sdk!r}: use static (the page in the browser), gradio (the detection app) "
                               "or docker (the dashboard)")
    if sdk == "static":
        return _assemble_static(Path(out), model=model, revision=revision, endpoint=endpoint, variants=variants,
                                bundle=bundle)
    import apps
    import hub

    hub_dir, apps_dir = (Path(m.__file__).parent for m in (hub, apps))
    template = Path(__file__).parent
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(hub_dir, out / "hub", ignore=shutil.ignore_patterns(*HUB_EXCLUDE), dirs_exist_ok=True)
    (out / "apps").mkdir(exist_ok=True)
    for name in APP_PARTS[sdk]:
        if (apps_dir / name).is_dir():
            shutil.copytree(apps_dir / name, out / "apps" / name, ignore=shutil.ignore_patterns("__pycache__"),
                            dirs_exist_ok=True)
        else:
            shutil.copyfile(apps_dir / name, out / "apps" / name)
    requirements = (template / "requirements.txt").read_text()
    if sdk == "gradio":
        shutil.copyfile(template / "app.py", out / "app.py")
    else:
        streamlit = importlib.metadata.version("streamlit")
        requirements += f"streamlit=={streamlit}\n"
        (out / "Dockerfile").write_text(DOCKERFILE.format(port=DOCKER_PORT))
    (out / "requirements.txt").write_text(requirements)
    config = {"model": model, "revision": revision, "endpoint": endpoint or "https://huggingface.co"}
    (out / "space_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "README.md").write_text(_readme(front_matter(model=model, sdk=sdk), model=model, revision=revision))
    return out


def _assemble_static(out: Path, *, model: str, revision: str, endpoint: str | None, variants: list[str] | None,
                     bundle: bool) -> Path:
    """The static Space: the deck opened once at ``revision`` (pinned to its commit), the page around it."""
    from hub.api import open_deck
    from space.static_space import assemble_static

    public = endpoint if endpoint and endpoint.startswith(("http://", "https://")) else None
    if not (public or bundle):
        raise SpaceConfigError("a static Space's page fetches the deck over HTTP: pass --model-endpoint URL (a "
                               "`hub serve`, or https://huggingface.co) or --bundle to copy the deck into the Space")
    deck = open_deck(model, revision=revision, endpoint=endpoint)
    manifest = deck.manifest.to_dict()
    assemble_static(out, model=model, commit=deck.commit, endpoint=public or "", manifest=manifest, variants=variants,
                    bundle_from=deck if bundle else None)
    (out / "README.md").write_text(_readme(front_matter(model=model, sdk="static"), model=model, revision=deck.commit))
    return out


def push_space(*, repo: str, model: str, revision: str | None = None, endpoint: str | None = None,
               model_endpoint: str | None = None, sdk: str = "gradio", private: bool = False,
               variants: list[str] | None = None, bundle: bool = False) -> str:
    """Assemble the Space and upload it as repo_type 'space' in one commit; return the commit id.

    ``revision`` defaults to the commit the model's main branch points to now (a pin).
    """
    from hub.api import open_store, resolve

    validate_repo_id(repo)
    pin = revision or resolve(model, endpoint=model_endpoint or endpoint)
    store = open_store(endpoint)
    with tempfile.TemporaryDirectory(prefix="yolodeck-space-") as tmp:
        folder = assemble(Path(tmp) / "space", model=model, revision=pin, endpoint=model_endpoint or endpoint,
                          sdk=sdk, variants=variants, bundle=bundle)
        store.create_repo(repo, repo_type="space", private=private, exist_ok=True, space_sdk=sdk)
        return store.commit_folder(repo, folder, message=f"Space for {model}@{pin[:12]}", repo_type="space")
