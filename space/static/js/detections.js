// Detections: what one image gave, in the original image's pixels; the same fields and JSON shape as
// hub.runtime.Detections (to_json, to_csv), plus the variant and commit that ran.

const FIELDS = ["class_name", "class_id", "score", "x1", "y1", "x2", "y2"];
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

export class Detections {
  constructor({ xyxy, scores, classIds, names, timingMs, imageSize }) {
    Object.assign(this, { xyxy, scores, classIds, names, timingMs, imageSize });
  }

  get length() { return this.scores.length; }

  box(i) { return Array.from(this.xyxy.subarray(4 * i, 4 * i + 4)); }

  // How many of each class, every class listed (zero included), in class order.
  counts() {
    const out = Object.fromEntries(this.names.map((n) => [n, 0]));
    for (const c of this.classIds) out[this.names[c]] += 1;
    return out;
  }

  toRows(decimals = 1) {
    return Array.from(this.scores, (score, i) => {
      const [x1, y1, x2, y2] = this.box(i).map((v) => round(v, decimals));
      const cls = this.classIds[i];
      return { class_name: this.names[cls], class_id: cls, score: round(score, 4), x1, y1, x2, y2 };
    });
  }

  // Detections.to_json()'s shape, plus `variant` and `commit`.
  toJSON({ variant, commit } = {}) {
    const timing = Object.fromEntries(Object.entries(this.timingMs).map(([k, v]) => [k, round(v, 3)]));
    return { image_size: this.imageSize, tiles: [1, 1], counts: this.counts(), timing_ms: timing,
      detections: this.toRows(), variant, commit };
  }

  toCSV() {
    const lines = [FIELDS.join(",")];
    for (const row of this.toRows()) lines.push(FIELDS.map((f) => row[f]).join(","));
    return lines.join("\r\n") + "\r\n";
  }
}
