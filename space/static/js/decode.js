// Head decode: the Ultralytics detect head (1, 4 + classes, N), boxes as cx, cy, w, h, into candidates
// above `conf`, as hub.runtime.ops.decode_head does: each box takes its best class (the first of equal
// scores), the class filter applies after that, at most MAX_CANDIDATES of the best go on to NMS.

export const MAX_CANDIDATES = 30000;

// output: Float32Array of the head; dims: its shape. Returns { xyxy, scores, classIds } in input pixels.
export function decodeHead(output, dims, { conf, classes = null }) {
  let rows = dims[dims.length - 2], n = dims[dims.length - 1];
  let at = (r, i) => output[r * n + i];
  if (rows > n) { // (N, 4 + classes) layout
    [rows, n] = [n, rows];
    const width = rows;
    at = (r, i) => output[i * width + r];
  }
  const nc = rows - 4;
  const wanted = classes ? new Set(classes) : null;
  let keep = [];
  for (let i = 0; i < n; i++) {
    let best = at(4, i), cls = 0;
    for (let c = 1; c < nc; c++) {
      const s = at(4 + c, i);
      if (s > best) { best = s; cls = c; }
    }
    if (best > conf && (!wanted || wanted.has(cls))) keep.push([i, best, cls]);
  }
  if (keep.length > MAX_CANDIDATES) keep = keep.sort((a, b) => b[1] - a[1]).slice(0, MAX_CANDIDATES);
  const xyxy = new Float32Array(keep.length * 4), scores = new Float32Array(keep.length);
  const classIds = new Int32Array(keep.length);
  keep.forEach(([i, score, cls], k) => {
    const cx = at(0, i), cy = at(1, i), w = at(2, i), h = at(3, i);
    xyxy.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * k);
    scores[k] = score;
    classIds[k] = cls;
  });
  return { xyxy, scores, classIds };
}

// Network-input pixels -> the original image's pixels, clipped to it (hub.runtime.ops.rescale).
export function rescale(xyxy, box, width, height) {
  const out = new Float32Array(xyxy.length);
  for (let i = 0; i < xyxy.length; i += 4) {
    out[i] = Math.min(Math.max((xyxy[i] - box.padLeft) / box.ratio, 0), width);
    out[i + 1] = Math.min(Math.max((xyxy[i + 1] - box.padTop) / box.ratio, 0), height);
    out[i + 2] = Math.min(Math.max((xyxy[i + 2] - box.padLeft) / box.ratio, 0), width);
    out[i + 3] = Math.min(Math.max((xyxy[i + 3] - box.padTop) / box.ratio, 0), height);
  }
  return out;
}
