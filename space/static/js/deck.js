// The deck: its manifest and files from the model repo at the pinned commit, the way the Hub serves them
// ({endpoint}/{repo}/resolve/{commit}/{file}), or from the Space's own deck/ folder (a bundled Space).
// Every file is checked against the manifest's sha256 before use, a cached copy too; files are kept in
// the browser's Cache API under their commit's URL, so a second visit downloads nothing but the page.

export class ChecksumError extends Error {}
const CACHE = "yolodeck-deck-files";

export function fileUrl(config, name) {
  return config.bundle ? new URL(`deck/${name}`, document.baseURI).href
    : `${config.endpoint.replace(/\/$/, "")}/${config.model}/resolve/${config.commit}/${name}`;
}

export async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchOk(url) {
  const response = await fetch(url, { mode: "cors", credentials: "omit" });
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
  return response;
}

export async function openDeck(config) {
  const manifest = await (await fetchOk(fileUrl(config, "manifest.json"))).json();
  return { config, manifest, commit: config.commit };
}

// The bytes of the deck's file `name`, verified against `sha256`; `onProgress(fraction)` while downloading.
export function verifiedFile(config, name, sha256, onProgress = () => {}) {
  return verifiedFetch(fileUrl(config, name), name, sha256, onProgress);
}

// The bytes at `url`, from the Cache API when a copy there still matches `sha256`, else downloaded, checked and
// cached. A file that does not match is refused (ChecksumError) and never used.
export async function verifiedFetch(url, name, sha256, onProgress = () => {}) {
  const cache = "caches" in self ? await caches.open(CACHE).catch(() => null) : null;
  const cached = cache && await cache.match(url);
  if (cached) {
    const buffer = await cached.arrayBuffer();
    if (await sha256Hex(buffer) === sha256) return { buffer, fromCache: true };
    await cache.delete(url); // a changed cached copy: fetched again below
  }
  const response = await fetchOk(url);
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    if (total) onProgress(got / total);
  }
  const buffer = await new Blob(parts).arrayBuffer();
  const actual = await sha256Hex(buffer);
  if (actual !== sha256) {
    throw new ChecksumError(`${name} failed its checksum (sha256 ${actual.slice(0, 12)}..., expected `
      + `${sha256.slice(0, 12)}...): refused; the file was changed or damaged on its way`);
  }
  if (cache) await cache.put(url, new Response(buffer, { headers: { "content-type": "application/octet-stream" } }))
    .catch(() => {}); // a full or private-mode cache only costs the next visit a download
  return { buffer, fromCache: false };
}

// The variants the page can run: ONNX files that exist (status ok), among `only` when the Space names some.
export function onnxVariants(manifest, only = null) {
  return manifest.variants.filter((v) => v.backend === "onnxruntime" && v.status === "ok" && v.file.endsWith(".onnx")
    && (!only || only.includes(v.id)));
}

// The variants within `tolerance` mAP50 of the fp32 reference (all, if the deck has none), fastest in a
// browser first. In onnxruntime-web's WASM build, int8 with unsigned activations (our exports) is the
// fastest file and fp16 no faster than fp32 (make bench-static measures it), so that order ranks them.
export const BROWSER_ORDER = { int8: 0, fp32: 1, fp16: 2 };
export function defaultVariant(manifest, only = null, tolerance = 0.01) {
  const pool = onnxVariants(manifest, only);
  const ref = pool.find((v) => v.id === "onnx-fp32" && v.metrics);
  const good = pool.filter((v) => !ref || (v.metrics && v.metrics.map50 >= ref.metrics.map50 - tolerance));
  return (good.length ? good : pool).sort((a, b) => (BROWSER_ORDER[a.precision] ?? 9) - (BROWSER_ORDER[b.precision] ?? 9))[0];
}
