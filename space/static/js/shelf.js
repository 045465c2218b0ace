// The shelf report: where the empty facings are, from one image's Detections (no model of its own). The same
// rules, fields and JSON shape as hub.runtime.shelf.shelf_report (its docstring says why rows are found from
// the boxes' bottom edges); rounded as Python's round() rounds, but for exact ties (2.25 -> 2.3 here, 2.2 there).

export const EMPTY = "empty";
export const SPACE_FACINGS = 1.0; // a space between boxes this many facings wide or more is a gap
export const SEEN_AS = { box: "empty facing", space: "space between products" }; // a gap's source, in words

const round = (v, d) => Number(v.toFixed(d));

// numpy's median: the middle value, or the mean of the two middle ones.
function median(values) {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// A row number (0 = the top shelf) per box: sorted by bottom edge, a new row wherever the step to the next box
// is more than half the median box height.
export function rowsOf(bottoms, heights) {
  const order = Array.from(bottoms.keys()).sort((a, b) => bottoms[a] - bottoms[b]);
  const limit = 0.5 * median(heights);
  const out = new Array(bottoms.length);
  let row = 0;
  order.forEach((i, k) => {
    if (k > 0 && bottoms[i] - bottoms[order[k - 1]] > limit) row += 1;
    out[i] = row;
  });
  return out;
}

// The message when the deck cannot find gaps (hub.runtime.shelf says the same).
export function noEmptyClass(names, empty = EMPTY) {
  return `this deck's classes (${names.slice(0, 10).join(", ")}) have no '${empty}': the shelf report needs a deck `
    + `that detects empty facings (train on \`training data synth-shelves --with-empty\`, or your own labels with `
    + `an '${empty}' class)`;
}

// Overlapping [x1, x2] spans joined, left to right.
function union(spans) {
  const out = [];
  for (const [a, b] of [...spans].sort((p, q) => p[0] - q[0] || p[1] - q[1])) {
    if (out.length && a <= out[out.length - 1][1]) out[out.length - 1][1] = Math.max(out[out.length - 1][1], b);
    else out.push([a, b]);
  }
  return out;
}

const covered = (spans) => union(spans).reduce((sum, [a, b]) => sum + b - a, 0);

// The spaces at least `wide` between a row's boxes (any class) that no box covers: where the model saw neither a
// product nor an empty facing.
function spaces(x1x2, wide) {
  const taken = union(x1x2);
  return taken.slice(1).flatMap(([b1], k) => (b1 - taken[k][1] >= wide ? [[taken[k][1], b1]] : []));
}

// A row's gaps (left to right) joined into the places a restocker fills: neighbours with no product starting
// between them are one place.
function places(gaps, productX1, productW) {
  const out = [];
  for (const g of gaps) {
    const last = out[out.length - 1];
    if (last && !productX1.some((x) => x >= last.x1 && x < g.x1)) {
      const x2 = Math.max(last.x2, g.x2);
      out[out.length - 1] = { row: g.row, x1: last.x1, y1: Math.min(last.y1, g.y1), x2, y2: Math.max(last.y2, g.y2),
        confidence: Math.max(last.confidence, g.confidence), facings: round((x2 - last.x1) / productW, 1),
        source: last.source === "box" || g.source === "box" ? "box" : "space" };
    } else out.push(g);
  }
  return out;
}

// { rows, facings, empty, empty_share, restock } for one image's detections; throws when there is no empty class.
// A row's gaps: the deck's empty boxes, and the spaces between products a facing wide or more; restock: the
// places to fill, touching gaps joined, the widest first.
export function shelfReport(detections, { empty = EMPTY } = {}) {
  const emptyId = detections.names.indexOf(empty);
  if (emptyId < 0) throw new Error(noEmptyClass(detections.names, empty));
  const boxes = Array.from({ length: detections.length }, (_, i) => detections.box(i));
  const isGap = Array.from(detections.classIds, (c) => c === emptyId);
  const row = rowsOf(boxes.map((b) => b[3]), boxes.map((b) => b[3] - b[1]));
  const rows = [];
  let restock = [], spans = 0, gapWidths = 0;
  const last = row.length ? Math.max(...row) : -1;
  for (let r = 0; r <= last; r++) {
    const mine = boxes.map((_, i) => i).filter((i) => row[i] === r);
    const widths = mine.map((i) => boxes[i][2] - boxes[i][0]);
    const span = Math.max(...mine.map((i) => boxes[i][2])) - Math.min(...mine.map((i) => boxes[i][0]));
    const products = mine.filter((i) => !isGap[i]);
    const productWidths = widths.filter((_, k) => !isGap[mine[k]]);
    const productW = Math.max(median(productWidths.length ? productWidths : widths), 1e-9);
    const found = mine.flatMap((i, k) => (isGap[i] ? [{ row: r + 1, x1: boxes[i][0], y1: boxes[i][1], x2: boxes[i][2],
      y2: boxes[i][3], confidence: detections.scores[i], facings: round(widths[k] / productW, 1), source: "box" }]
      : []));
    const top = median(mine.map((i) => boxes[i][1])), line = median(mine.map((i) => boxes[i][3]));
    for (const [a, b] of spaces(mine.map((i) => [boxes[i][0], boxes[i][2]]), SPACE_FACINGS * productW)) {
      found.push({ row: r + 1, x1: a, y1: top, x2: b, y2: line, confidence: 0, facings: round((b - a) / productW, 1),
        source: "space" });
    }
    found.sort((a, b) => a.x1 - b.x1);
    const emptyW = covered(found.map((g) => [g.x1, g.x2]));
    rows.push({ index: r + 1, y: line, facings: products.length, empty: found.length,
      empty_share: round(span > 0 ? Math.min(1, emptyW / span) : 0, 4), gaps: found });
    restock = restock.concat(places(found, products.map((i) => boxes[i][0]), productW));
    spans += span;
    gapWidths += emptyW;
  }
  restock.sort((a, b) => (b.x2 - b.x1) - (a.x2 - a.x1));
  return { rows, facings: isGap.length - isGap.filter(Boolean).length, empty: rows.reduce((n, r) => n + r.empty, 0),
    empty_share: round(spans > 0 ? Math.min(1, gapWidths / spans) : 0, 4), restock };
}
