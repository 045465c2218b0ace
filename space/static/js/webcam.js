// Webcam: the visitor's camera (getUserMedia), not mirrored, boxes drawn over the live video. The model is
// never queued behind itself: a frame that arrives while it is busy is skipped (and counted). The rates on
// screen: frames processed and frames shown per second, over the last second.

import { pixelsOf } from "./images.js";
import { drawBoxes } from "./draw.js";

export class Webcam {
  // size: the network's input side; the camera is asked for frames that wide (4:3), no more pixels than it uses
  constructor({ video, overlay, stats, getDetector, getOptions, size = 640 }) {
    Object.assign(this, { video, overlay, stats, getDetector, getOptions, size });
    this.grab = new OffscreenCanvas(1, 1);
    this.counts = { processed: 0, shown: 0, skipped: 0 };
    this.busy = false;
    this.running = false;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser gives pages no camera (getUserMedia)");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: false,
        video: { width: { ideal: this.size }, height: { ideal: Math.round(this.size * 3 / 4) } } });
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
    this.fresh = false;
    const mark = () => { // every new camera frame: noted, and counted as skipped if the model is busy
      if (!this.running) return;
      if (this.busy) this.counts.skipped++;
      this.fresh = true;
      if (this.wake) { this.wake(); this.wake = null; }
      if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(mark);
      else requestAnimationFrame(mark);
    };
    mark();
    this.loop();
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
    if (this.wake) { this.wake(); this.wake = null; }
    this.stream?.getTracks().forEach((t) => t.stop());
    this.video.srcObject = null;
  }

  // The model takes the newest frame as soon as it is free: it waits only when it has seen every frame so far
  // (waiting for the next frame's callback instead would leave it idle up to a frame's time after each call).
  async loop() {
    while (this.running) {
      if (!this.fresh) await new Promise((resolve) => { this.wake = resolve; });
      if (!this.running) break;
      this.fresh = false;
      await this.frame();
    }
  }

  async frame() {
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
