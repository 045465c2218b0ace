// Annotation: the image with its boxes and labels on a canvas, one colour per class (the Python
// annotator's palette, supervision's default).

export const PALETTE = ["#a351fb", "#e6194b", "#3cb44b", "#ffe119", "#0082c8", "#f58231", "#911eb4", "#46f0f0",
  "#f032e6", "#d2f53c", "#fabebe", "#008080", "#e6beff", "#aa6e28", "#fffac8", "#800000"];

// Boxes of `detections` over whatever the canvas already shows (scaled from image to canvas pixels).
export function drawBoxes(ctx, detections, { labels = true } = {}) {
  const [w, h] = detections.imageSize;
  const sx = ctx.canvas.width / w, sy = ctx.canvas.height / h;
  const line = Math.max(1, Math.round(Math.min(ctx.canvas.width, ctx.canvas.height) / 300));
  ctx.lineWidth = line;
  ctx.font = `${Math.max(10, 5 * line + 6)}px sans-serif`;
  for (let i = 0; i < detections.length; i++) {
    const [x1, y1, x2, y2] = detections.box(i);
    const colour = PALETTE[detections.classIds[i] % PALETTE.length];
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    if (labels) {
      const text = `${detections.names[detections.classIds[i]]} ${detections.scores[i].toFixed(2)}`;
      const tw = ctx.measureText(text).width + 4, th = 5 * line + 8;
      ctx.fillStyle = colour;
      ctx.fillRect(x1 * sx, Math.max(0, y1 * sy - th), tw, th);
      ctx.fillStyle = "#000";
      ctx.fillText(text, x1 * sx + 2, Math.max(th, y1 * sy) - 3);
    }
  }
}

// The image, then its boxes.
export function annotate(canvas, bitmap, detections) {
  Object.assign(canvas, { width: bitmap.width, height: bitmap.height });
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  drawBoxes(ctx, detections, { labels: detections.length <= 60 });
}
