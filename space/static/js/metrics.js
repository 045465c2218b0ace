// Metrics: the manifest's variant table and its charts with plotly.js (the vendored copy, loaded when the
// section first opens): latency against mAP50-95 with the Pareto front, file sizes, AP50-95 per class,
// and the object-size curve. The same charts as apps/charts.py draws for the Gradio app and dashboard.

const LAYOUT = { margin: { t: 40, r: 10, b: 50, l: 60 }, height: 340 };
const fmt = (v, d = 3) => (v === null || v === undefined ? "" : Number(v).toFixed(d));

// Indices of the points no other point beats on both: faster and more accurate (apps.charts.pareto_front).
export function paretoFront(points) {
  const order = points.map((p, i) => i).sort((a, b) => points[a][0] - points[b][0] || points[b][1] - points[a][1]);
  const front = [];
  let best = -Infinity;
  for (const i of order) if (points[i][1] > best) { front.push(i); best = points[i][1]; }
  return front;
}

function loadPlotly() {
  if (self.Plotly) return Promise.resolve(self.Plotly);
  return new Promise((resolve, reject) => {
    const script = Object.assign(document.createElement("script"), { src: "vendor/plotly.min.js" });
    script.onload = () => resolve(self.Plotly);
    script.onerror = () => reject(new Error("plotly.js could not be loaded from vendor/"));
    document.head.append(script);
  });
}

export function variantTable(table, manifest) {
  const head = ["variant", "backend", "precision", "MB", "mAP50", "mAP50-95", "precision", "recall", "latency ms"];
  table.replaceChildren();
  table.insertRow().append(...head.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  for (const v of manifest.variants) {
    const m = v.metrics || {};
    const cells = [v.id, v.backend, v.precision, fmt(v.bytes / 2 ** 20, 2), fmt(m.map50), fmt(m.map50_95),
      fmt(m.precision), fmt(m.recall), fmt(v.latency_ms?.median, 1)];
    const row = table.insertRow();
    cells.forEach((c) => (row.insertCell().textContent = v.status === "ok" ? c : c || v.reason || ""));
  }
}

export async function drawCharts(box, manifest) {
  const Plotly = await loadPlotly();
  const measured = manifest.variants.filter((v) => v.metrics && v.latency_ms);
  const points = measured.map((v) => [v.latency_ms.median, v.metrics.map50_95]);
  const front = paretoFront(points).map((i) => points[i]).sort((a, b) => a[0] - b[0]);
  const charts = [
    ["tradeoff", [{ x: points.map((p) => p[0]), y: points.map((p) => p[1]), text: measured.map((v) => v.id),
      mode: "markers+text", textposition: "top center", type: "scatter", name: "variants" },
    { x: front.map((p) => p[0]), y: front.map((p) => p[1]), mode: "lines", name: "Pareto front",
      line: { dash: "dot", color: "#888" } }],
    { title: "Latency against mAP50-95 (native CPU)", xaxis: { title: { text: "ms (median)" } },
      yaxis: { title: { text: "mAP50-95" } } }],
    ["sizes", [{ x: manifest.variants.map((v) => v.id), y: manifest.variants.map((v) => v.bytes / 2 ** 20), type: "bar" }],
      { title: "File size (MB)" }],
    ["per-class", measured.filter((v) => Object.keys(v.metrics.per_class || {}).length).map((v) => ({
      x: Object.keys(v.metrics.per_class), y: Object.values(v.metrics.per_class), type: "bar", name: v.id })),
    { title: "AP50-95 per class", barmode: "group" }],
  ];
  if (manifest.objects?.curve?.length) {
    const curve = manifest.objects.curve;
    charts.push(["object-scale", [{ x: curve.map((p) => p.object_px), y: curve.map((p) => p.map50_95),
      mode: "lines+markers", name: "mAP50-95" }, { x: curve.map((p) => p.object_px), y: curve.map((p) => p.recall),
      mode: "lines+markers", name: "recall" }],
    { title: `Object size (min ${manifest.objects.min_px.toFixed(1)} px at the network)`,
      xaxis: { title: { text: "median object side at the network input (px)" }, type: "log" } }]);
  }
  box.replaceChildren();
  for (const [id, data, layout] of charts) {
    const div = Object.assign(document.createElement("div"), { id: `chart-${id}`, className: "chart" });
    box.append(div);
    await Plotly.newPlot(div, data, { ...LAYOUT, ...layout }, { displaylogo: false, responsive: true });
  }
}
