"""The metrics dashboard (Streamlit + Plotly): choose a variant by what it costs and buys.

Reads everything from the hub (manifest and deck files of a pushed repo), never from a training
run, so it works on any repo. ``make dashboard`` starts it on 127.0.0.1 with usage stats off::

    streamlit run apps/dashboard.py -- [--repo OWNER/NAME] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import io
import sys

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import hub.api
import hub.base.offline
from apps import charts
from hub.base import catalog, settings
from hub.base.errors import YolodeckError
from hub.deck import card
from hub.deck.manifest import Manifest


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    env = settings.current()
    parser.add_argument("--repo", default=env.dashboard_repo)
    parser.add_argument("--endpoint", default=env.endpoint)
    parser.add_argument("--compare", default=env.dashboard_compare,
                        help="repos to show beside --repo from the start, comma-separated (a sweep's points)")
    return parser.parse_known_args(sys.argv[1:])[0]


def variant_table(manifest: Manifest, backends: list[str], precisions: list[str]) -> pd.DataFrame:
    rows = [r for r in card.rows(manifest) if r["status"] == "ok" and r["backend"] in backends
            and r["precision"] in precisions]
    return pd.DataFrame(rows, columns=list(card.COLUMNS))


def revision_diff(manifests: dict[str, Manifest], keep) -> pd.DataFrame:
    """Per variant: mAP50-95 and latency in the first and last revision chosen, and what changed."""
    (first, a), (last, b) = list(manifests.items())[0], list(manifests.items())[-1]
    rows = []
    for v in b.available:
        if not keep(v):
            continue
        old = next((w for w in a.available if w.id == v.id), None)
        if old is None or not (v.metrics and old.metrics):
            rows.append({"variant": v.id, "change": "new"})
            continue
        d_map = v.metrics.map50_95 - old.metrics.map50_95
        d_ms = (v.latency_ms.median - old.latency_ms.median) if v.latency_ms and old.latency_ms else None
        verdict = "improved" if d_map > 0.005 else "regressed" if d_map < -0.005 else "same accuracy"
        rows.append({"variant": v.id, f"mAP50-95 {first}": round(old.metrics.map50_95, 4),
                     f"mAP50-95 {last}": round(v.metrics.map50_95, 4), "d mAP50-95": round(d_map, 4),
                     "d ms": None if d_ms is None else round(d_ms, 2), "change": verdict})
    return pd.DataFrame(rows)


def training_curves(deck: hub.api.RepoDeck) -> go.Figure | None:
    rel = deck.manifest.files.get("results")
    path = rel and deck.extra(rel)
    if not path:
        return None
    df = pd.read_csv(path)
    df.columns = [c.strip() for c in df.columns]
    fig = go.Figure()
    for col, name in (("metrics/mAP50(B)", "mAP50"), ("metrics/mAP50-95(B)", "mAP50-95"),
                      ("metrics/precision(B)", "precision"), ("metrics/recall(B)", "recall")):
        if col in df:
            fig.add_trace(go.Scatter(x=df["epoch"], y=df[col], mode="lines+markers", name=name))
    fig.update_layout(title="Training: validation metrics per epoch", xaxis_title="epoch", height=360)
    return fig


def across_repos(repo: str, m: Manifest, others: list[str], endpoint: str | None, keep) -> None:
    """Several models side by side (a sweep, or any decks): one table, one tradeoff with one Pareto front."""
    decks = {repo: m}
    for other in others:
        try:
            decks[other] = hub.api.manifest_of(other, endpoint=endpoint)
        except YolodeckError as exc:
            st.error(f"{other}: {exc}")
    st.subheader(f"Across {len(decks)} repos")
    st.dataframe(pd.DataFrame(card.across_rows(decks, keep), columns=card.ACROSS_COLUMNS), hide_index=True,
                 width="stretch", key="across")
    left, right = st.columns(2)
    left.plotly_chart(charts.tradeoff(decks, keep, across=True), key="across-tradeoff")
    right.plotly_chart(charts.model_costs(decks), key="across-costs")


def main() -> None:
    hub.base.offline.configure()
    args = _args()
    st.set_page_config(page_title="yolodeck dashboard", layout="wide")
    st.title("yolodeck · variant dashboard")
    endpoint = st.sidebar.text_input("Hub", value=args.endpoint or "", key="endpoint",
                                     help="empty: the embedded hub; or a URL of huggingface.co / `hub serve`") or None
    try:
        repos = [r["id"] for r in hub.api.open_store(endpoint).list_repos(repo_type="model")]
    except (YolodeckError, OSError) as exc:
        st.error(f"Cannot list the repos of {endpoint or 'the embedded hub'}: {exc}")
        return
    if not repos:
        st.info("No model repos yet. Build a deck (`python -m training deck ...`) and `hub push` it.")
        return
    repo = st.sidebar.selectbox("Repo", repos, index=repos.index(args.repo) if args.repo in repos else 0, key="repo")
    refs = hub.api.open_store(endpoint).list_refs(repo)
    names = [b["name"] for b in refs["branches"]] + [t["name"] for t in refs["tags"]]
    revisions = st.sidebar.multiselect("Revisions (first = reference)", names, default=names[:1], key="revisions")
    opened: dict[str, hub.api.RepoDeck] = {}
    for rev in revisions:
        try:
            opened[rev] = hub.api.open_deck(repo, revision=rev, endpoint=endpoint)
        except YolodeckError as exc:
            st.error(f"{repo}@{rev}: {exc}")
    manifests: dict[str, Manifest] = {rev: d.manifest for rev, d in opened.items()}
    if not manifests:
        if revisions:
            st.warning("Nothing to show: no readable deck among the chosen revisions.")
        return
    rev, m = next(iter(manifests.items()))
    all_backends = sorted({v.backend for mm in manifests.values() for v in mm.available})
    all_precisions = [p for p in catalog.PRECISIONS if any(v.precision == p for mm in manifests.values()
                                                                 for v in mm.available)]
    backends = st.sidebar.multiselect("Backend", all_backends, default=all_backends, key="backends")
    precisions = st.sidebar.multiselect("Precision", all_precisions, default=all_precisions, key="precisions")

    def keep(v) -> bool:
        return v.backend in backends and v.precision in precisions

    st.caption(f"**{m.model}** · {repo}@{rev} · {len(m.classes)} classes · {m.imgsz} px · dataset "
               f"{m.dataset.get('name', '?')} ({m.dataset.get('split', 'test')}: {m.dataset.get('images', '?')} images, "
               f"{m.dataset.get('instances', '?')} objects) · built {m.created}"
               + next((f" · latency on {v.latency_ms.cpu}, {v.latency_ms.threads} threads" for v in m.available
                       if v.latency_ms and v.latency_ms.cpu), ""))
    unavailable = [v for v in m.variants if not v.ok]
    for v in unavailable:
        st.warning(f"{v.id} is unavailable: {v.reason}")
    table = variant_table(m, backends, precisions)
    st.subheader("Variants")
    st.dataframe(table, hide_index=True, width="stretch", key="variants")
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    st.download_button("Download the table (CSV)", buf.getvalue(), file_name=f"{m.model}-{rev}.csv",
                       mime="text/csv", key="csv")
    left, right = st.columns(2)
    left.plotly_chart(charts.tradeoff(manifests, keep), key="tradeoff")
    right.plotly_chart(charts.sizes(m, keep), key="size")
    left.plotly_chart(charts.per_class(m, keep), key="per_class")
    right.plotly_chart(charts.precision_recall(m, keep), key="pr")
    if m.objects:
        left.plotly_chart(charts.object_scale(manifests), key="object-scale")
    if any(v.metrics and v.metrics.gaps for v in m.available):
        right.plotly_chart(charts.gaps_found(m, keep), key="gaps")
    if len(manifests) > 1:
        st.subheader(f"Revision against revision: {list(manifests)[0]} -> {list(manifests)[-1]}")
        st.dataframe(revision_diff(manifests, keep), hide_index=True, width="stretch", key="diff")
    choices = [r for r in repos if r != repo]
    others = st.sidebar.multiselect("Compare with repos (main of each)", choices, key="compare",
                                    default=[r.strip() for r in args.compare.split(",") if r.strip() in choices])
    if others:
        across_repos(repo, m, others, endpoint, keep)
    st.subheader("Training")
    curves = training_curves(opened[rev])
    if curves is not None:
        st.plotly_chart(curves, key="training")
    else:
        st.info("This deck carries no training curves (results.csv).")
    for key in ("confusion_matrix", "BoxPR_curve"):
        rel = m.files.get(key)
        path = rel and opened[rev].extra(rel)
        if path:
            st.image(str(path), caption=key.replace("_", " "), width=640)


main()
