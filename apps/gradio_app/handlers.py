"""The app's event handlers: pure functions of their inputs plus the shared model cache."""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from apps import charts
from apps.gradio_app.detector_cache import DetectorCache
from apps.gradio_app.webcam import StreamState
from hub.api import RepoDeck
from hub.base import catalog
from hub.base.errors import YolodeckError
from hub.deck import card, choose
from hub.runtime import BoxAnnotator, Detections, LabelAnnotator, load_image

DEFAULT_REPO = "yolodeck/shelves-demo"
TABLE_HEADERS = ["class", "score", "x1", "y1", "x2", "y2"]
STAGES = ["read", "letterbox", "inference", "postprocess", "total"]
METRIC_COLUMNS = ["variant", "backend", "precision", "size MB", "P", "R", "F1", "mAP50", "mAP50-95", "ms (median)",
                  "d mAP50", "x fp32"]
BOXES, LABELS = BoxAnnotator(), LabelAnnotator()
TILES = {"off": None, "auto": "auto", "2x2": (2, 2), "3x3": (3, 3), "4x4": (4, 4)}


def _fail(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


class Handlers:
    """Event handlers, one method per event."""

    def __init__(self, models: DetectorCache, *, downloads: Path | None = None, webcam_limit: float = float("inf")) -> None:
        self.models, self.webcam_limit = models, webcam_limit
        # Compare runs its variants side by side on the cores one model call leaves idle (each call gets
        # cores / CONCURRENCY threads: one of two here)
        self._compare_pool = ThreadPoolExecutor(max(1, (os.cpu_count() or 1) // (models.threads or 1)),
                                                thread_name_prefix="compare")
        self.downloads = downloads or Path(tempfile.mkdtemp(prefix="yolodeck-downloads-"))

    # --- pickers -------------------------------------------------------------------------------

    def _deck(self, repo: str, revision: str) -> RepoDeck:
        try:
            return self.models.deck((repo or DEFAULT_REPO).strip(), (revision or "main").strip())
        except (YolodeckError, OSError) as exc:
            raise _fail(exc) from exc

    def pickers(self, repo: str, revision: str):
        deck = self._deck(repo, revision)
        best = deck.default_variant(threads=self.models.threads)
        backends = [(catalog.label(b), b) for b in deck.backends()]
        has_thresholds = bool(best.metrics and best.metrics.thresholds)  # ticks (and enables) "best"
        return (
            gr.update(choices=self.models.revisions(deck.repo), value=deck.revision),
            gr.update(choices=backends, value=best.backend),
            gr.update(choices=deck.precisions(best.backend), value=best.precision),
            gr.update(choices=self._sizes(deck, best.backend), value=deck.manifest.imgsz),
            gr.update(choices=deck.manifest.classes, value=[]),
            f"**{deck.manifest.model}** · {deck.repo}@{deck.revision} ({deck.commit[:8]}) · "
            f"{len(deck.manifest.classes)} classes · {deck.manifest.imgsz} px · {len(deck.runnable)} variants · "
            f"default {best.id} (the fastest within {choose.TOLERANCE} mAP50 of fp32, measured on this machine)",
            gr.update(value=has_thresholds, interactive=has_thresholds),
        )

    @staticmethod
    def _sizes(deck: RepoDeck, backend: str) -> list[int]:
        size = deck.manifest.imgsz
        return sorted({size, 320, 416, 512, 640}) if backend == "torch" else [size]

    def precisions(self, repo: str, revision: str, backend: str):
        deck = self._deck(repo, revision)
        choices = deck.precisions(backend)
        return (gr.update(choices=choices, value=choices[0] if choices else None),
                gr.update(choices=self._sizes(deck, backend), value=deck.manifest.imgsz))

    # --- detection -----------------------------------------------------------------------------

    def _run(self, deck: RepoDeck, backend: str, precision: str, image: Any,
             **kw) -> tuple[np.ndarray, Detections, str]:
        """(the image, its detections, the id of the variant whose Detector ran: read off the Detector itself,
        so a mix-up in the model cache shows instead of hiding behind the picker's value)."""
        try:
            variant = deck.manifest.find(backend=backend, precision=precision)
            detector = self.models.detector(deck, variant)
            rgb = load_image(image)
            det = detector.detect(rgb, **kw)
        except (YolodeckError, ValueError) as exc:
            raise _fail(exc) from exc
        ran = next((v.id for v in deck.manifest.available
                    if v.file == detector.path.name and v.backend == detector.backend), detector.path.name)
        return rgb, det, ran

    @staticmethod
    def _annotate(rgb: np.ndarray, detections: Detections) -> np.ndarray:
        return LABELS.annotate(BOXES.annotate(rgb, detections), detections)

    def detect(self, image, repo, revision, backend, precision, conf, iou, imgsz, classes, tiles="off", best=False):
        if image is None:
            raise gr.Error("upload an image first (or pick an example)", print_exception=False)
        deck = self._deck(repo, revision)
        class_ids = [deck.manifest.classes.index(c) for c in classes or [] if c in deck.manifest.classes] or None
        if (tiles or "off") not in TILES:
            raise gr.Error(f"tiles {tiles!r}: choose one of {', '.join(TILES)}", print_exception=False)
        rgb, det, ran = self._run(deck, backend, precision, image, conf="best" if best else float(conf),
                                  iou=float(iou), classes=class_ids, imgsz=int(imgsz) if imgsz else None,
                                  tiles=TILES[tiles or "off"])
        grid = f"tiles {tiles}" + (" → {} x {}".format(*det.tiles) if tiles == "auto" else "")  # what auto chose
        shown = "best (each class at the deck's threshold)" if best else f"{float(conf):.2f}"
        ran = (f"**{ran}** · {deck.repo}@{deck.commit[:8]} · {len(det)} objects · conf {shown} · "
               f"IoU {float(iou):.2f} · {int(imgsz) if imgsz else deck.manifest.imgsz} px · "
               + (f"only {', '.join(classes)} · " if class_ids else "")
               + (f"{grid} · " if TILES.get(tiles or "off") else "") + f"{det.timing_ms['total']:.1f} ms")
        rows = [[r["class_name"], r["score"], r["x1"], r["y1"], r["x2"], r["y2"]] for r in det.to_rows()]
        counts = [[name, n] for name, n in det.counts().items()] + [["total", len(det)]]
        latency = [[stage, round(det.timing_ms.get(stage, 0.0), 2)] for stage in STAGES]
        stem = f"detections-{time.strftime('%Y%m%d-%H%M%S')}-{time.perf_counter_ns() % 10**6}"
        json_path, csv_path = self.downloads / f"{stem}.json", self.downloads / f"{stem}.csv"
        json_path.write_text(det.to_json())
        csv_path.write_text(det.to_csv())
        return self._annotate(rgb, det), rows, counts, latency, str(json_path), str(csv_path), ran

    def shelf(self, json_path, repo: str, revision: str):
        """The Shelf panel from the detections just made (their JSON download): rows, empty facings and the restock
        list, widest gap first, with the report as JSON; a deck without an ``empty`` class gets what to do instead."""
        from hub.runtime.shelf import EMPTY, SEEN_AS, shelf_report

        if not json_path:
            return gr.skip(), gr.skip(), gr.skip()
        deck = self._deck(repo, revision)
        if EMPTY not in deck.manifest.classes:
            return (f"**Shelf**: this deck's classes ({', '.join(deck.manifest.classes[:8])}) have no `{EMPTY}`, so "
                    f"it cannot show empty facings. A deck trained on `training data synth-shelves --with-empty`, or "
                    f"on your own labels with an `{EMPTY}` class, can."), [], None
        report = shelf_report(Detections.from_json(Path(json_path).read_text(), deck.manifest.classes))
        lines = [f"**Shelf**: {len(report.rows)} rows, {report.facings} facings, {report.empty} empty "
                 f"({report.empty_share:.0%} of the shelf's width)"]
        lines += [f"- row {r.index}{' (the top shelf)' if r.index == 1 else ''}: {r.facings} facings, {r.empty} empty "
                  f"({r.empty_share:.0%})" for r in report.rows]
        restock = [[g.row, round(g.x1), round(g.y1), round(g.x2), round(g.y2), g.facings, round(g.confidence, 3),
                    SEEN_AS[g.source]] for g in report.restock]
        out = Path(json_path).with_name(Path(json_path).stem.replace("detections", "shelf") + ".json")
        out.write_text(json.dumps(report.to_dict(), indent=1))
        return "\n".join(lines), restock, str(out)

    def detect_if_image(self, image, *args):
        """Re-run detection when a picker moves, if there is an image."""
        if image is None:
            return (gr.skip(),) * 7
        return self.detect(image, *args)

    def compare(self, image, repo, revision, conf, iou):
        if image is None:
            raise gr.Error("upload an image first (or pick an example)", print_exception=False)
        deck = self._deck(repo, revision)
        try:
            rgb = load_image(image)
        except YolodeckError as exc:
            raise _fail(exc) from exc

        def one(v):
            _, det, _ = self._run(deck, v.backend, v.precision, rgb, conf=float(conf), iou=float(iou))
            return v, det, self._annotate(rgb, det)

        gallery, table = [], []
        for v, det, annotated in self._compare_pool.map(one, deck.runnable):  # in the deck's order
            gallery.append((annotated, f"{v.id} @ {deck.commit[:8]}: {len(det)} objects, "
                                       f"{det.timing_ms['total']:.1f} ms"))
            m = v.metrics
            table.append([v.id, len(det), round(det.timing_ms["inference"], 2), round(det.timing_ms["total"], 2),
                          round(v.bytes / 1e6, 2), m and round(m.map50, 4), m and round(m.map50_95, 4)])
        return gallery, table

    def webcam(self, frame, repo, revision, backend, precision, conf, iou, track=False, state=None):
        """One streamed frame; with ``track``, objects keep ids (ByteTrack) and a vertical line through the middle
        counts those crossing it, for as long as the stream runs."""
        if frame is None:
            return None, "waiting for the camera...", state
        session = state if isinstance(state, StreamState) else StreamState()
        if not session.within(self.webcam_limit):  # the model stops here, whatever the browser goes on sending
            return gr.skip(), (f"**The stream ended** after its {self.webcam_limit:g} s: stop it, and start it "
                               "again to go on."), session
        deck = self._deck(repo, revision)
        rgb, det, ran = self._run(deck, backend, precision, frame, conf=float(conf) / (3 if track else 1),
                                  iou=float(iou))
        fps = session.clock.tick()
        if track:
            tracked, line = session.track(det, rgb, float(conf))
            from hub.video import draw

            annotated = draw(rgb, tracked, [line], [], det.names)
        else:
            annotated = self._annotate(rgb, det)
        if session is state and not session.clock.due():  # the status line twice a second: updates cost the browser
            return annotated, gr.skip(), session
        counts = ", ".join(f"{n} {name}" for name, n in det.counts().items())
        status = (f"**{fps:.1f} fps** · frame {session.clock.frames} · {det.timing_ms['total']:.1f} ms per frame "
                  f"({ran} @ {deck.commit[:8]}) · {counts}")
        if track:
            c = line.counts(det.names)
            status += (f" · {len(tracked)} tracked · line in {sum(c['in'].values())} out "
                       f"{sum(c['out'].values())}")
        return annotated, status, session

    def frame(self, frame, repo, revision, backend, precision, conf, iou):
        """One webcam frame, for API users (the stream keeps an fps state per browser session)."""
        annotated, line, _ = self.webcam(frame, repo, revision, backend, precision, conf, iou)
        return annotated, line

    # --- metrics -------------------------------------------------------------------------------

    def across(self, repo, revision, others):
        """The deck beside other repos (their main): one table, one tradeoff with one Pareto front, model costs."""
        deck = self._deck(repo, revision)
        names = [o.strip() for o in (others or "").replace("\n", ",").split(",") if o.strip()]
        if not names:
            raise gr.Error("name one or more repos to compare with, comma-separated (e.g. a sweep's points)",
                           print_exception=False)
        decks = {f"{deck.repo}@{deck.revision}": deck.manifest}
        for name in names:
            decks[name] = self._deck(name, "main").manifest
        table = [[r[c] for c in card.ACROSS_COLUMNS] for r in card.across_rows(decks)]
        return table, charts.tradeoff(decks, across=True), charts.model_costs(decks)

    def metrics(self, repo, revision):
        deck = self._deck(repo, revision)
        table = [[r[c] for c in METRIC_COLUMNS] for r in card.rows(deck.manifest)]
        m = deck.manifest
        return (table, charts.tradeoff({deck.revision: m}), charts.sizes(m), charts.latencies(m),
                charts.object_scale({deck.revision: m}))
