// Class-aware greedy NMS with the rule of ONNX Runtime's NonMaxSuppression kernel, which
// hub.runtime.nms runs: per class, best score first (equal scores: the earlier box first), a box goes
// when its IoU with a kept box of its class is above `iou`; at most `maxDet` a class; then every kept
// box best first (a stable sort over classes in ascending order), at most `maxDet`.
//
// Written here rather than run as an ONNX graph: on a dense shelf (about 500 candidates) it takes well
// under a millisecond in the page, where a second onnxruntime-web session call costs more than that
// in its own overhead (measured by the page's NMS timing; see the README).

function iouAbove(b, i, j, iou) {
  const ix1 = Math.max(b[4 * i], b[4 * j]), iy1 = Math.max(b[4 * i + 1], b[4 * j + 1]);
  const ix2 = Math.min(b[4 * i + 2], b[4 * j + 2]), iy2 = Math.min(b[4 * i + 3], b[4 * j + 3]);
  const inter = Math.max(0, ix2 - ix1) * Math.max(0, iy2 - iy1);
  if (inter <= 0) return false;
  const a1 = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  const a2 = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  const union = a1 + a2 - inter;
  if (a1 <= 0 || a2 <= 0 || union <= 0) return false;
  return inter / union > iou;
}

// Indices of the kept boxes, best first.
export function nms(xyxy, scores, classIds, { iou, maxDet }) {
  const byClass = new Map();
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] <= 0) continue; // the kernel skips scores at or under its threshold (0)
    if (!byClass.has(classIds[i])) byClass.set(classIds[i], []);
    byClass.get(classIds[i]).push(i);
  }
  const kept = [];
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const order = byClass.get(cls).sort((a, b) => scores[b] - scores[a] || a - b);
    const mine = [];
    for (const i of order) {
      if (mine.length >= maxDet) break;
      if (!mine.some((j) => iouAbove(xyxy, i, j, iou))) mine.push(i);
    }
    kept.push(...mine);
  }
  return kept.map((i, k) => [i, k]).sort((a, b) => scores[b[0]] - scores[a[0]] || a[1] - b[1])
    .slice(0, maxDet).map(([i]) => i);
}
