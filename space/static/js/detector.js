// Detector: one ONNX variant of the deck in onnxruntime-web (WASM), behind one detect(), computing what
// hub.runtime.Detector.detect computes: letterbox, the model, head decode, class-aware NMS, boxes in the
// original image's pixels.

import * as ort from "../vendor/ort/ort.wasm.min.mjs";
import { decodeHead, rescale } from "./decode.js";
import { Detections } from "./detections.js";
import { letterbox } from "./letterbox.js";
import { nms } from "./nms.js";

export const DEFAULT_MAX_DET = 1000;
export { ort };

// Threads: ?threads=N in the page's URL, else one per core up to 4 where the page is cross-origin isolated (one
// otherwise: threads need SharedArrayBuffer). onnxruntime-web's own default is half the cores, one on a 2-core
// machine, where two showed 17-20 webcam frames a second against 12-13 (make bench-static's machine). Set once,
// before the first session.
export function configureRuntime(threads = null) {
  ort.env.wasm.wasmPaths = new URL("../vendor/ort/", import.meta.url).href;
  ort.env.wasm.numThreads = threads || (self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1);
  ort.env.logLevel = "error";
}

export function threadCount() {
  return ort.env.wasm.numThreads;
}

export function hasWebAssembly() {
  return typeof WebAssembly === "object" && typeof WebAssembly.instantiate === "function";
}

// fp16 numbers (as uint16 bits) to float32, for a model whose output is float16.
function halfToFloat(bits) {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i], s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}

function floatToHalf(values) {
  const out = new Uint16Array(values.length), f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0], sign = (x >> 16) & 0x8000, exp = ((x >> 23) & 0xff) - 112, mant = x & 0x7fffff;
    if (exp <= 0) out[i] = sign; // our inputs are in [0, 1]: no subnormal halves needed
    else if (exp >= 31) out[i] = sign | 0x7c00;
    else {
      let h = sign | (exp << 10) | (mant >> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // round half to even
      out[i] = h;
    }
  }
  return out;
}

export class Detector {
  static async create(buffer, { names, imgsz, variant }) {
    const session = await ort.InferenceSession.create(buffer, { executionProviders: ["wasm"],
      graphOptimizationLevel: "all" });
    const detector = new Detector(session, { names, imgsz, variant });
    await detector.warm();
    return detector;
  }

  // One call through the model and NMS before the first real one (both are slow the first time), as the Python
  // Detector warms up.
  async warm() {
    await this.infer(new Float32Array(3 * this.imgsz * this.imgsz).fill(114 / 255));
    await nms(Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11]), Float32Array.from([0.9, 0.8]), Int32Array.from([0, 1]),
      { iou: 0.5, maxDet: 10 });
  }

  constructor(session, { names, imgsz, variant }) {
    Object.assign(this, { session, names, imgsz, variant });
    this.input = session.inputNames[0];
    const meta = session.inputMetadata?.[0];
    this.half = meta && meta.type === "float16";
  }

  // The raw model call on a letterboxed blob: the head's values as float32 and its shape.
  async infer(blob) {
    const data = this.half ? floatToHalf(blob) : blob;
    const feeds = { [this.input]: new ort.Tensor(this.half ? "float16" : "float32", data, [1, 3, this.imgsz, this.imgsz]) };
    const results = await this.session.run(feeds);
    const out = results[this.session.outputNames[0]];
    const values = out.type === "float16" ? halfToFloat(out.data instanceof Uint16Array ? out.data
      : new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.length)) : out.data;
    return { values, dims: out.dims };
  }

  // image: { rgb, width, height } (see images.js). Same arguments and rules as the Python detect().
  async detect(image, { conf = 0.25, iou = 0.7, classes = null, maxDet = DEFAULT_MAX_DET } = {}) {
    if (!(conf >= 0 && conf <= 1 && iou >= 0 && iou <= 1)) throw new RangeError(`conf and iou must be in [0, 1] (got conf=${conf}, iou=${iou})`);
    const t0 = performance.now();
    const box = letterbox(image.rgb, image.width, image.height, this.imgsz);
    const t1 = performance.now();
    const { values, dims } = await this.infer(box.blob);
    const t2 = performance.now();
    const found = decodeHead(values, dims, { conf, classes });
    const keep = await nms(found.xyxy, found.scores, found.classIds, { iou, maxDet });
    const xyxy = new Float32Array(keep.length * 4), scores = new Float32Array(keep.length);
    const classIds = new Int32Array(keep.length);
    keep.forEach((i, k) => {
      xyxy.set(found.xyxy.subarray(4 * i, 4 * i + 4), 4 * k);
      scores[k] = found.scores[i];
      classIds[k] = found.classIds[i];
    });
    const t3 = performance.now();
    const timingMs = { letterbox: t1 - t0, inference: t2 - t1, postprocess: t3 - t2, total: t3 - t0 };
    return new Detections({ xyxy: rescale(xyxy, box, image.width, image.height), scores, classIds,
      names: this.names, timingMs, imageSize: [image.width, image.height] });
  }
}
