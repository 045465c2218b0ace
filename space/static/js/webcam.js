// Webcam: the visitor's camera (getUserMedia), not mirrored, boxes drawn over the live video. The model is
// never queued behind itself: a frame that arrives while it is busy is skipped (and counted). The rates on
// screen: frames processed and frames shown per second, over the last second.

import { pixelsOf } from "./images.js";
import { drawBoxes } from "./draw.js";

export class Webcam {
  constructor({ video, overlay, stats, getDetector, getOptions }) {
    Object.assign(this, { video, overlay, stats, getDetector, getOptions });
    this.grab = new OffscreenCanvas(1, 1);
    this.counts = { processed: 0, shown: 0, skipped: 0 };
    this.busy = false;
    this.running = false;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser gives pages no camera (getUserMedia)");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false });
    } catch (err) {
      const why = err.name === "NotAllowedError" ? "the camera was refused: allow it in the browser's site settings"
        : err.name === "NotFoundError" ? "no camera was found" : `the camera could not start (${err.name}: ${err.message})`;
      throw new Error(why);
    }
    this.video.srcObject = this.stream;
    await this.video.play();
    this.running = true;
    this.times = [];
    this.timer = setInterval(() => this.report(), 500);
    this.next();
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.video.srcObject = null;
  }

  next() {
    if (!this.running) return;
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(() => this.frame());
    else requestAnimationFrame(() => this.frame());
  }

  async frame() {
    if (!this.running) return;
    this.next(); // the next frame is asked for now: it is skipped if the model is still busy
    if (this.busy) { this.counts.skipped++; return; }
    const detector = this.getDetector();
    const w = this.video.videoWidth, h = this.video.videoHeight;
    if (!detector || !w || !h) return;
    this.busy = true;
    try {
      const image = pixelsOf(this.video, w, h, this.grab);
      const detections = await detector.detect(image, this.getOptions());
      this.counts.processed++;
      Object.assign(this.overlay, { width: w, height: h });
      const ctx = this.overlay.getContext("2d");
      ctx.clearRect(0, 0, w, h);
      drawBoxes(ctx, detections, { labels: detections.length <= 30 });
      this.counts.shown++;
      this.times.push(performance.now());
      this.last = detections;
    } finally {
      this.busy = false;
    }
  }

  // Frames shown in the last second, and the running totals.
  fps() {
    const now = performance.now();
    this.times = this.times.filter((t) => now - t <= 1000);
    return this.times.length;
  }

  report() {
    const d = this.last;
    this.stats.textContent = `${this.fps()} fps shown · ${this.counts.processed} frames processed, `
      + `${this.counts.skipped} skipped while the model was busy`
      + (d ? ` · ${d.length} objects · ${d.timingMs.total.toFixed(0)} ms a frame` : "");
    this.stats.dataset.fps = String(this.fps());
    this.stats.dataset.shown = String(this.counts.shown);
  }
}
