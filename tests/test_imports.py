"""The arrows between the project's layers, as the code's imports draw them (grimp reads every import, those inside
functions too): each layer imports only the layers below it, nothing in ``hub`` imports the apps, the Space
builder or training (the ``hub space`` command excepted: it loads the Space builder when it runs), and no two
modules anywhere import each other, directly or round a longer circle."""

from __future__ import annotations

import grimp
import networkx as nx
import pytest

PACKAGES = ("hub", "apps", "training", "space", "tests")

# hub's layers, by module prefix (the longest prefix that matches names a module's layer)
LAYERS = {
    "hub.base": "base", "hub.deck": "deck",
    "hub.store": "store", "hub.server": "server",
    "hub.runtime": "runtime", "hub.video": "video",
    "hub": "api", "hub.api": "api", "hub.cli": "cli",
    "apps": "apps", "apps.service": "service", "training": "training", "space": "space", "tests": "tests",
}
# what each layer may import besides itself
ALLOWED = {
    "base": set(),
    "deck": {"base"},
    "store": {"base"},
    "server": {"base", "store"},
    "runtime": {"base"},
    "video": {"base", "runtime"},
    "api": {"base", "deck", "store", "runtime"},
    "cli": {"base", "deck", "store", "server", "runtime", "api", "space"},
    "apps": {"base", "deck", "runtime", "video", "api"},
    "service": {"base", "deck", "runtime", "video", "api", "server"},
    "training": {"base", "deck", "runtime", "video", "api"},
    "space": {"base", "deck", "store", "runtime", "api", "apps"},
    "tests": set(LAYERS.values()),
}
# the one arrow from hub to a package above it: `hub space` loads the Space builder when it runs
EXCEPTIONS = {("hub.cli.space", "space.build")}


def layer(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__name__}")


def arrows(graph) -> set[tuple[str, str]]:
    return {(m, i) for m in graph.modules for i in graph.find_modules_directly_imported_by(m)}


def forbidden(edges: set[tuple[str, str]]) -> list[str]:
    return sorted(f"{a} -> {b} ({layer(a)} may not import {layer(b)})" for a, b in edges
                  if layer(a) != layer(b) and layer(b) not in ALLOWED[layer(a)] and (a, b) not in EXCEPTIONS)


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(nx.DiGraph(list(edges))) if len(c) > 1]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_every_layer_imports_only_the_layers_below_it(graph):
    assert forbidden(arrows(graph)) == []


def test_no_module_imports_itself_round_a_circle(graph):
    assert cycles(arrows(graph)) == []


def test_the_contract_catches_a_forbidden_arrow_and_a_circle(graph):
    """The checks above fail where they must: on the arrows of today's code plus one bad import."""
    edges = arrows(graph)
    assert forbidden(edges | {("hub.runtime.detector", "hub.deck.manifest")}) == [
        "hub.runtime.detector -> hub.deck.manifest (runtime may not import deck)"]
    assert forbidden(edges | {("hub.deck.card", "apps.gradio_app.handlers")}) == ["hub.deck.card -> apps.gradio_app.handlers (deck may not import apps)"]
    assert cycles(edges | {("hub.base.errors", "hub.api")}) != []
