// Image input: a File or Blob, checked before any pixel is decoded (the runtime's limits: bytes, pixels,
// side), decoded by the browser with its EXIF orientation applied, as RGB bytes (3 a pixel). Transparent
// pixels are put on grey 114 as the runtime does.

export const MAX_PIXELS = 40_000_000;
export const MAX_BYTES = 50 * 1024 * 1024;
export const MAX_SIDE = 20_000;

export class ImageError extends Error {}

// (width, height) from the header of a PNG, JPEG, GIF, BMP or WebP, or null for anything else.
export function headerSize(bytes) {
  const b = bytes, u16 = (i) => (b[i] << 8) | b[i + 1], le16 = (i) => b[i] | (b[i + 1] << 8);
  const le32 = (i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 2 ** 24;
  const be32 = (i) => b[i] * 2 ** 24 + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  if (b.length > 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return [be32(16), be32(20)];
  if (b.length > 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return [le16(6), le16(8)];
  if (b.length > 26 && b[0] === 0x42 && b[1] === 0x4d) return [le32(18), Math.abs(le32(22) | 0)];
  if (b.length > 30 && le32(0) === 0x46464952 && le32(8) === 0x50424557) { // RIFF....WEBP
    const kind = String.fromCharCode(b[12], b[13], b[14], b[15]);
    if (kind === "VP8X") return [1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16))];
    if (kind === "VP8L") return [1 + (le16(21) & 0x3fff), 1 + ((le32(21) >>> 14) & 0x3fff)];
    if (kind === "VP8 ") return [le16(26) & 0x3fff, le16(28) & 0x3fff];
  }
  if (b.length > 4 && b[0] === 0xff && b[1] === 0xd8) { // JPEG: the first start-of-frame marker
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) { i++; continue; }
      const marker = b[i + 1];
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) return [u16(i + 7), u16(i + 5)];
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
      i += 2 + u16(i + 2);
    }
  }
  return null;
}

// Decode `blob` into { rgb, width, height, bitmap }, or throw an ImageError that says what is wrong.
export async function readImage(blob, what = "the file") {
  if (!blob || blob.size === 0) throw new ImageError(`${what} is empty (0 bytes)`);
  if (blob.size > MAX_BYTES) {
    throw new ImageError(`${what} is ${(blob.size / 2 ** 20).toFixed(0)} MB; the limit is ${MAX_BYTES / 2 ** 20} MB`);
  }
  const head = new Uint8Array(await blob.slice(0, 256 * 1024).arrayBuffer());
  const size = headerSize(head);
  if (!size) {
    const text = new TextDecoder().decode(head.subarray(0, 64)).trimStart().toLowerCase();
    const hint = text.startsWith("<svg") || text.startsWith("<?xml") ? " (it looks like SVG, which is not supported)"
      : text.startsWith("%pdf") ? " (it looks like a PDF)" : "";
    throw new ImageError(`${what} is not an image the page can read${hint}; use JPEG, PNG, WebP, GIF or BMP`);
  }
  const [w, h] = size;
  if (w <= 0 || h <= 0) throw new ImageError(`${what} is empty (${w}x${h} pixels)`);
  if (w * h > MAX_PIXELS || Math.max(w, h) > MAX_SIDE) {
    throw new ImageError(`${what} is too large (${w}x${h} = ${(w * h / 1e6).toFixed(0)} MP; the limit is `
      + `${MAX_PIXELS / 1e6} MP and ${MAX_SIDE} px a side): resize it first`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none",
      colorSpaceConversion: "none" });
  } catch (err) {
    throw new ImageError(`${what} could not be decoded (${err.message}); is the file truncated or corrupt?`);
  }
  return { ...pixelsOf(bitmap, bitmap.width, bitmap.height), bitmap };
}

// RGB bytes of anything a canvas can draw (an ImageBitmap, a playing <video>) at width x height.
export function pixelsOf(source, width, height, canvas = null) {
  canvas = canvas || new OffscreenCanvas(width, height);
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3];
    if (a === 255) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; continue; }
    for (let c = 0; c < 3; c++) rgb[j + c] = Math.round((rgba[i + c] * a + 114 * (255 - a)) / 255);
  }
  return { rgb, width, height };
}
