// The shelf report: where the empty facings are, from one image's Detections (no model of its own). The same
// rules, fields and JSON shape as hub.runtime.shelf.shelf_report (its docstring says why rows are found from
// the boxes' bottom edges); rounded as Python's round() rounds, but for exact ties (2.25 -> 2.3 here, 2.2 there).

export const EMPTY = "empty";

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

// { rows, facings, empty, empty_share, restock } for one image's detections; throws when there is no empty class.
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
    const productWidths = widths.filter((_, k) => !isGap[mine[k]]);
    const productW = median(productWidths.length ? productWidths : widths);
    const found = mine.flatMap((i, k) => (isGap[i] ? [{ row: r + 1, x1: boxes[i][0], y1: boxes[i][1], x2: boxes[i][2],
      y2: boxes[i][3], confidence: detections.scores[i], facings: round(widths[k] / Math.max(productW, 1e-9), 1) }] : []));
    found.sort((a, b) => a.x1 - b.x1);
    const emptyW = widths.reduce((sum, w, k) => sum + (isGap[mine[k]] ? w : 0), 0);
    rows.push({ index: r + 1, y: median(mine.map((i) => boxes[i][3])), facings: mine.length - found.length,
      empty: found.length, empty_share: round(span > 0 ? Math.min(1, emptyW / span) : 0, 4), gaps: found });
    restock = restock.concat(found);
    spans += span;
    gapWidths += emptyW;
  }
  restock.sort((a, b) => (b.x2 - b.x1) - (a.x2 - a.x1));
  const gaps = isGap.filter(Boolean).length;
  return { rows, facings: isGap.length - gaps, empty: gaps,
    empty_share: round(spans > 0 ? Math.min(1, gapWidths / spans) : 0, 4), restock };
}
