// Letterbox: fit an RGB image into the network's square input as hub.runtime.ops.letterbox does (and
// Ultralytics' LetterBox): resize keeping the aspect ratio, centre it, pad with grey 114, scale to [0, 1].
//
// The resize is OpenCV's cv2.resize(INTER_LINEAR) on uint8 images, written out here because a canvas'
// drawImage filters differently (and differently per browser): the same fixed-point arithmetic (11-bit
// coefficients, the vectorised vertical pass's rounding), and OpenCV's switch to a 2x2 average when both
// sides shrink by exactly 2. Same pixels in, same blob out as the Python runtime, to the last bit
// wherever OpenCV takes its vectorised path (a row's last few values may differ by one).

export const PAD_VALUE = 114;
const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// C's saturate_cast<short>(float) (cvRound: halves to even) of a float32 value.
function saturateShort(v) {
  return Math.max(-32768, Math.min(32767, roundHalfEven(v)));
}

// Per destination index: source index and the two fixed-point weights, as OpenCV's resize computes them.
function linearTable(dstLen, srcLen) {
  const scale = 1 / (dstLen / srcLen);
  const ofs = new Int32Array(dstLen);
  const alpha = new Int16Array(dstLen * 2);
  for (let d = 0; d < dstLen; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (s < 0) { f = 0; s = 0; }
    if (s >= srcLen - 1) { f = 0; s = srcLen - 1; }
    ofs[d] = s;
    alpha[2 * d] = saturateShort(Math.fround(Math.fround(1 - f) * COEF_SCALE));
    alpha[2 * d + 1] = saturateShort(Math.fround(f * COEF_SCALE));
  }
  return { ofs, alpha };
}

// cv2.resize(rgb, (dw, dh), interpolation=INTER_LINEAR) for an RGB uint8 image (3 bytes a pixel).
export function resizeLinear(rgb, sw, sh, dw, dh) {
  if (sw === dw && sh === dh) return rgb;
  if (sw === 2 * dw && sh === 2 * dh) return halve(rgb, sw, dw, dh);
  const xt = linearTable(dw, sw), yt = linearTable(dh, sh);
  const out = new Uint8Array(dw * dh * 3);
  const rows = [new Int32Array(dw * 3), new Int32Array(dw * 3)];
  const rowOf = [-1, -1];
  const horizontal = (sy, buf) => { // one source row, resized across: values scaled by 2048
    const base = sy * sw * 3;
    for (let dx = 0; dx < dw; dx++) {
      const sx = xt.ofs[dx], a0 = xt.alpha[2 * dx], a1 = xt.alpha[2 * dx + 1];
      const s0 = base + sx * 3, s1 = sx + 1 < sw ? s0 + 3 : s0;
      for (let c = 0; c < 3; c++) buf[dx * 3 + c] = rgb[s0 + c] * a0 + (a1 ? rgb[s1 + c] * a1 : 0);
    }
  };
  const row = (sy) => { // a cache of the last two rows, as OpenCV's ring buffer
    const k = rowOf[0] === sy ? 0 : rowOf[1] === sy ? 1 : -1;
    if (k >= 0) return rows[k];
    const slot = rowOf[0] < rowOf[1] ? 0 : 1;
    horizontal(sy, rows[slot]);
    rowOf[slot] = sy;
    return rows[slot];
  };
  for (let dy = 0; dy < dh; dy++) {
    const sy = yt.ofs[dy], b0 = yt.alpha[2 * dy], b1 = yt.alpha[2 * dy + 1];
    const r0 = row(sy), r1 = row(Math.min(sy + 1, sh - 1));
    const o = dy * dw * 3;
    for (let x = 0; x < dw * 3; x++) { // ((s0 >> 4) * b0 >> 16) + ((s1 >> 4) * b1 >> 16), rounded >> 2
      const v = ((((r0[x] >> 4) * b0) >> 16) + (((r1[x] >> 4) * b1) >> 16) + 2) >> 2;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

// OpenCV's INTER_LINEAR at exactly half size in both directions: the rounded mean of each 2 x 2 block.
function halve(rgb, sw, dw, dh) {
  const out = new Uint8Array(dw * dh * 3);
  for (let y = 0; y < dh; y++) {
    const a = 2 * y * sw * 3, b = a + sw * 3;
    for (let x = 0; x < dw; x++) {
      for (let c = 0; c < 3; c++) {
        const i = 6 * x + c;
        out[(y * dw + x) * 3 + c] = (rgb[a + i] + rgb[a + i + 3] + rgb[b + i] + rgb[b + i + 3] + 2) >> 2;
      }
    }
  }
  return out;
}

// The network input (1, 3, size, size) float32 in [0, 1], and how the image was placed in it.
export function letterbox(rgb, width, height, size) {
  const r = Math.min(size / height, size / width);
  const newW = Math.max(1, roundHalfEven(width * r)), newH = Math.max(1, roundHalfEven(height * r));
  const dw = (size - newW) / 2, dh = (size - newH) / 2;
  const top = roundHalfEven(dh - 0.1), left = roundHalfEven(dw - 0.1); // as Ultralytics splits odd padding
  const resized = resizeLinear(rgb, width, height, newW, newH);
  const plane = size * size;
  const blob = new Float32Array(3 * plane).fill(Math.fround(PAD_VALUE / 255));
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) {
      const i = (y * newW + x) * 3, o = (top + y) * size + left + x;
      blob[o] = resized[i] / 255;
      blob[plane + o] = resized[i + 1] / 255;
      blob[2 * plane + o] = resized[i + 2] / 255;
    }
  }
  return { blob, ratio: r, padLeft: left, padTop: top };
}
