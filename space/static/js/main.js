// The static Space: wires the page's sections to the deck. Config: space_config.json beside the page
// (what `hub space build --sdk static` pinned: model, commit, endpoint, bundle, variants).

import { defaultVariant, fileUrl, onnxVariants, openDeck, verifiedFetch, verifiedFile } from "./deck.js";
import { configureRuntime, Detector, hasWebAssembly, ort, threadCount } from "./detector.js";
import { annotate } from "./draw.js";
import { readImage } from "./images.js";
import { drawCharts, variantTable } from "./metrics.js";
import { EMPTY, noEmptyClass, SEEN_AS, shelfReport } from "./shelf.js";
import { Webcam } from "./webcam.js";

const $ = (id) => document.getElementById(id);
const state = { deck: null, detectors: new Map(), detector: null, image: null, running: null };
self.yolodeck = state; // for the browser tests, the benchmark and curious visitors

// Shows (or, with "", hides) the one error line; state.errors counts the errors shown, for the tests.
function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
  if (message) state.errors = (state.errors || 0) + 1;
}

// The detector for a variant, downloaded (or read from the cache), checked and opened once.
async function detectorFor(variant) {
  if (!state.detectors.has(variant.id)) {
    const opening = (async () => {
      $("runtime-line").textContent = `Downloading ${variant.id} (${(variant.bytes / 2 ** 20).toFixed(1)} MB)...`;
      const { buffer, fromCache } = await verifiedFile(state.deck.config, variant.file, variant.sha256,
        (f) => ($("runtime-line").textContent = `Downloading ${variant.id}: ${(100 * f).toFixed(0)}%`));
      const detector = await Detector.create(buffer, { names: state.deck.manifest.classes,
        imgsz: state.deck.manifest.imgsz, variant: variant.id });
      $("runtime-line").textContent = `${variant.id} ready (${fromCache ? "from this browser's cache" : "downloaded"}, `
        + `sha256 checked) · onnxruntime-web WASM, ${threadCount()} thread(s)`
        + (self.crossOriginIsolated ? "" : " (this page is not cross-origin isolated: one thread)");
      return detector;
    })();
    state.detectors.set(variant.id, opening);
    opening.catch(() => state.detectors.delete(variant.id));
  }
  return state.detectors.get(variant.id);
}

function options() {
  const boxes = [...document.querySelectorAll("#classes input")];
  const chosen = boxes.filter((b) => b.checked).map((b) => Number(b.value));
  return { conf: Number($("conf").value), iou: Number($("iou").value),
    classes: chosen.length === boxes.length ? null : chosen };
}

function variantNamed(id) {
  return onnxVariants(state.deck.manifest, state.deck.config.variants).find((v) => v.id === id);
}

function fill(table, rows) {
  table.replaceChildren();
  for (const cells of rows) {
    const row = table.insertRow();
    for (const c of cells) row.insertCell().textContent = c;
  }
}

// The Shelf panel: rows, facings and empty facings, the share empty and the restock list, widest gap first; a
// deck without an 'empty' class says what would show them.
function showShelf(detections) {
  if (!detections.names.includes(EMPTY)) {
    $("shelf-summary").textContent = noEmptyClass(detections.names);
    state.shelf = null;
    return;
  }
  const report = shelfReport(detections);
  $("shelf-summary").textContent = `${report.rows.length} shelf rows · ${report.facings} facings · ${report.empty} `
    + `empty · ${(100 * report.empty_share).toFixed(1)}% of the shelves' width empty`;
  fill($("shelf-rows"), [["row", "facings", "empty", "share empty"],
    ...report.rows.map((r) => [r.index, r.facings, r.empty, `${(100 * r.empty_share).toFixed(1)}%`])]);
  fill($("shelf-restock"), [["restock: row", "x from", "x to", "about facings", "seen as"],
    ...report.restock.map((g) => [g.row, g.x1.toFixed(0), g.x2.toFixed(0), g.facings, SEEN_AS[g.source]])]);
  download($("shelf-json"), JSON.stringify(report, null, 2), "application/json");
  state.shelf = report;
}

function download(link, text, type) {
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.hidden = false;
}

// Detect on the current image with the current controls; every control calls this.
async function run() {
  if (!state.image) return;
  const ticket = Symbol("run");
  state.running = ticket;
  try {
    const variant = variantNamed($("variant").value);
    const detector = await detectorFor(variant);
    const detections = await detector.detect(state.image, options());
    if (state.running !== ticket) return; // a later change already asked for another run
    annotate($("annotated"), state.image.bitmap, detections);
    fill($("counts"), Object.entries(detections.counts()));
    fill($("timing"), Object.entries(detections.timingMs).map(([k, v]) => [k, v.toFixed(1)]));
    const rows = detections.toRows();
    fill($("table"), [["class", "score", "x1", "y1", "x2", "y2"], ...rows.map((r) => [r.class_name, r.score, r.x1, r.y1, r.x2, r.y2])]);
    const o = options();
    $("ran").textContent = `${variant.id} · ${state.deck.config.model}@${state.deck.commit.slice(0, 8)} · `
      + `${detections.length} objects · conf ${o.conf.toFixed(2)} · IoU ${o.iou.toFixed(2)} · `
      + `${detections.timingMs.total.toFixed(1)} ms in this browser`;
    const json = detections.toJSON({ variant: variant.id, commit: state.deck.commit });
    download($("json"), JSON.stringify(json, null, 2), "application/json");
    download($("csv"), detections.toCSV(), "text/csv");
    showShelf(detections);
    state.last = json;
    state.runs = (state.runs || 0) + 1;
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

async function useImage(blob, what) {
  showError(""); // a new image: an earlier image's error no longer applies
  try {
    state.image = await readImage(blob, what);
  } catch (err) {
    showError(err.message); // the page and the last result stay as they were
    return;
  }
  await run();
}

function setUpDetect(manifest) {
  const select = $("variant");
  for (const v of onnxVariants(manifest, state.deck.config.variants)) select.append(new Option(`${v.id} (${(v.bytes / 2 ** 20).toFixed(1)} MB)`, v.id));
  select.value = defaultVariant(manifest, state.deck.config.variants).id;
  manifest.classes.forEach((name, i) => {
    const label = document.createElement("label");
    label.append(Object.assign(document.createElement("input"), { type: "checkbox", value: i, checked: true }), ` ${name}`);
    $("classes").append(label);
  });
  for (const id of ["conf", "iou"]) {
    $(id).addEventListener("input", () => ($(`${id}-value`).textContent = Number($(id).value).toFixed(2)));
    $(id).addEventListener("change", run);
  }
  select.addEventListener("change", run);
  $("classes").addEventListener("change", run);
  $("file").addEventListener("change", () => $("file").files[0] && useImage($("file").files[0], $("file").files[0].name));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) useImage(e.dataTransfer.files[0], e.dataTransfer.files[0].name);
  });
  document.addEventListener("paste", (e) => {
    const item = [...e.clipboardData.items].find((i) => i.type.startsWith("image/"));
    if (item) useImage(item.getAsFile(), "the pasted image");
  });
  const examples = Object.entries(manifest.files || {}).filter(([key]) => key.startsWith("example_"));
  for (const [, path] of examples) {
    const img = Object.assign(document.createElement("img"), { src: fileUrl(state.deck.config, path), alt: path,
      crossOrigin: "anonymous", title: path });
    img.addEventListener("click", async () => {
      try {
        useImage(await (await fetch(img.src, { mode: "cors" })).blob(), path);
      } catch (err) {
        showError(`${path} could not be fetched: ${err.message}`);
      }
    });
    $("examples").append(img);
  }
}

function setUpTabs() {
  let chartsDrawn = false;
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", async () => {
      document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b === button));
      document.querySelectorAll(".tab").forEach((s) => (s.hidden = s.id !== button.dataset.tab));
      if (button.dataset.tab === "metrics" && !chartsDrawn) {
        chartsDrawn = true;
        variantTable($("variants"), state.deck.manifest);
        await drawCharts($("charts"), state.deck.manifest).catch((err) => showError(err.message));
      }
    });
  }
}

function setUpWebcam() {
  const webcam = new Webcam({ video: $("video"), overlay: $("overlay"), stats: $("webcam-stats"),
    getDetector: () => state.detector, getOptions: options, size: state.deck.manifest.imgsz });
  state.webcam = webcam;
  $("webcam-start").addEventListener("click", async () => {
    try {
      state.detector = await detectorFor(variantNamed($("variant").value));
      await webcam.start();
      $("webcam-start").disabled = true;
      $("webcam-stop").disabled = false;
      showError("");
    } catch (err) {
      showError(err.message);
    }
  });
  $("webcam-stop").addEventListener("click", () => {
    webcam.stop();
    $("webcam-start").disabled = false;
    $("webcam-stop").disabled = true;
  });
  $("variant").addEventListener("change", async () => {
    if (webcam.running) state.detector = await detectorFor(variantNamed($("variant").value)).catch(() => state.detector);
  });
}

function setUpCompare() {
  $("compare-run").addEventListener("click", async () => {
    if (!state.image) return showError("choose an image on the Detect tab first");
    const grid = $("compare-grid");
    grid.replaceChildren();
    for (const variant of onnxVariants(state.deck.manifest, state.deck.config.variants)) {
      const figure = document.createElement("figure");
      const canvas = document.createElement("canvas");
      const caption = document.createElement("figcaption");
      figure.append(canvas, caption);
      figure.dataset.variant = variant.id;
      grid.append(figure);
      try {
        const detections = await (await detectorFor(variant)).detect(state.image, options());
        annotate(canvas, state.image.bitmap, detections);
        caption.textContent = `${variant.id} · ${state.deck.commit.slice(0, 8)} · ${detections.length} objects · `
          + `${detections.timingMs.total.toFixed(1)} ms`;
        figure.dataset.count = String(detections.length);
      } catch (err) {
        caption.textContent = `${variant.id}: ${err.message}`;
      }
    }
  });
}

state.detectorFor = (id) => detectorFor(variantNamed(id));

async function main() {
  if (!hasWebAssembly()) return showError("This browser cannot run WebAssembly, which the page needs to run the model.");
  configureRuntime(Number(new URLSearchParams(location.search).get("threads")) || null);
  let config;
  try {
    config = await (await fetch("space_config.json")).json();
    // onnxruntime-web's 15 MB of WebAssembly, checked against its pinned sha256 and kept in the Cache API like the
    // model, so that a second visit downloads only the page
    const wasm = config.runtime.wasm;
    ort.env.wasm.wasmBinary = (await verifiedFetch(new URL(wasm.file, document.baseURI).href, wasm.file,
      wasm.sha256)).buffer;
    state.deck = await openDeck(config);
  } catch (err) {
    $("deck-line").textContent = "";
    return showError(`The deck could not be loaded: ${err.message}`);
  }
  const { manifest } = state.deck;
  $("title").textContent = `yolodeck: ${config.model}`;
  $("deck-line").textContent = `${config.model}@${config.commit.slice(0, 12)} · ${manifest.classes.length} classes `
    + `(${manifest.classes.join(", ")}) · ${manifest.imgsz} px · runs in this browser: no image leaves it`;
  if (!onnxVariants(manifest, config.variants).length) {
    return showError("This deck has no ONNX variant, the only kind a browser can run: build one with "
      + "`python -m training deck ... --variants onnx-fp32 onnx-int8`.");
  }
  setUpTabs();
  setUpDetect(manifest);
  setUpWebcam();
  setUpCompare();
  detectorFor(variantNamed($("variant").value)).then(() => (document.body.dataset.ready = "1"))
    .catch((err) => showError(err.message));
}

main();
