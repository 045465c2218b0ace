"""The deck manifest: the contract between training, hub and apps.

``manifest.json`` names the model, its classes and input size, and lists every variant
(file, bytes, sha256, status, metrics, latency). It is validated on read, so a bad or
tampered manifest is a clear :class:`ManifestError`, never a crash deep in an app. The
model card, ``hub show``, the app's pickers and the dashboard are all views of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from hub.errors import IntegrityError, ManifestError, VariantNotFoundError

FILENAME = "manifest.json"
SCHEMA = 1
BACKENDS = ("torch", "torchscript", "onnxruntime", "tflite", "openvino")
PRECISIONS = ("fp32", "fp16", "int8")
REFERENCE_IDS = ("onnx-fp32", "pt", "tflite-fp32", "torchscript")  # what "against fp32" compares with
METRIC_KEYS = ("precision", "recall", "f1", "map50", "map50_95")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_relpath(value: str, what: str) -> str:
    """A relative POSIX path inside the deck: no absolute paths, no '..', no backslashes."""
    p = PurePosixPath(value)
    if not value or "\\" in value or p.is_absolute() or ".." in p.parts or value.startswith("~"):
        raise ManifestError(f"{what} {value!r} is not a safe relative path inside the deck")
    return str(p)


@dataclass
class Metrics:
    precision: float
    recall: float
    f1: float
    map50: float
    map50_95: float
    per_class: dict[str, float] = field(default_factory=dict)  # AP50-95 per class
    conf: float | None = None  # the confidence where F1 peaks (where P, R and F1 are read)
    pr_curve: list[float] = field(default_factory=list)  # class-mean precision at recall 0, 0.01, ..., 1 (IoU 0.5)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Metrics:
        try:
            values = {k: float(d[k]) for k in METRIC_KEYS}
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{where}: metrics need numbers for {', '.join(METRIC_KEYS)} ({exc})") from exc
        for k, v in values.items():
            if not 0.0 <= v <= 1.0:
                raise ManifestError(f"{where}: metric {k}={v} is outside [0, 1]")
        per_class = d.get("per_class") or {}
        if not isinstance(per_class, dict):
            raise ManifestError(f"{where}: per_class must be an object of class name -> AP")
        conf = d.get("conf")
        curve = d.get("pr_curve") or []
        if not isinstance(curve, list) or not all(isinstance(x, int | float) and -1 <= x <= 1 for x in curve):
            raise ManifestError(f"{where}: pr_curve must be a list of precisions")
        return cls(**values, per_class={str(k): float(v) for k, v in per_class.items()},
                   conf=None if conf is None else float(conf), pr_curve=[float(x) for x in curve])


@dataclass
class Latency:
    median: float
    p90: float
    threads: int
    imgsz: int

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Latency:
        try:
            lat = cls(float(d["median"]), float(d["p90"]), int(d["threads"]), int(d["imgsz"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{where}: latency_ms needs median, p90, threads, imgsz ({exc})") from exc
        if lat.median < 0 or lat.p90 < 0:
            raise ManifestError(f"{where}: negative latency")
        return lat


@dataclass
class Variant:
    id: str
    backend: str
    precision: str
    file: str
    bytes: int = 0
    sha256: str = ""
    status: str = "ok"  # or "unavailable", with a reason
    reason: str | None = None
    metrics: Metrics | None = None
    latency_ms: Latency | None = None
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def verify_file(self, path: Path) -> None:
        """Raise IntegrityError unless ``path`` has this variant's size and sha256."""
        if not path.is_file():
            raise IntegrityError(f"variant '{self.id}': file {self.file} is missing from {path.parent}")
        size = path.stat().st_size
        if size != self.bytes:
            raise IntegrityError(f"variant '{self.id}': {self.file} is {size} bytes, the manifest says {self.bytes}")
        digest = sha256_of(path)
        if digest != self.sha256:
            raise IntegrityError(f"variant '{self.id}': {self.file} sha256 {digest[:12]}... does not match the "
                                 f"manifest's {self.sha256[:12]}... (tampered or corrupted)")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Variant:
        if not isinstance(d, dict):
            raise ManifestError("every entry of 'variants' must be an object")
        vid = d.get("id")
        if not isinstance(vid, str) or not _ID.match(vid):
            raise ManifestError(f"variant id {vid!r} is missing or not a simple lowercase name")
        where = f"variant '{vid}'"
        backend, precision, status = d.get("backend"), d.get("precision"), d.get("status", "ok")
        if backend not in BACKENDS:
            raise ManifestError(f"{where}: backend {backend!r} is not one of {', '.join(BACKENDS)}")
        if precision not in PRECISIONS:
            raise ManifestError(f"{where}: precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        if status not in ("ok", "unavailable"):
            raise ManifestError(f"{where}: status must be 'ok' or 'unavailable', not {status!r}")
        v = cls(vid, backend, precision, safe_relpath(str(d.get("file", "")), f"{where}: file"),
                status=status, reason=d.get("reason"), tools=dict(d.get("tools") or {}))
        if status == "unavailable":
            if not v.reason:
                raise ManifestError(f"{where}: an unavailable variant must say why ('reason')")
            return v
        size, sha = d.get("bytes"), d.get("sha256")
        if not isinstance(size, int) or size <= 0:
            raise ManifestError(f"{where}: 'bytes' must be a positive integer")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ManifestError(f"{where}: 'sha256' must be 64 lowercase hex characters")
        v.bytes, v.sha256 = size, sha
        v.metrics = Metrics.from_dict(d["metrics"], where) if d.get("metrics") else None
        v.latency_ms = Latency.from_dict(d["latency_ms"], where) if d.get("latency_ms") else None
        return v


@dataclass
class Manifest:
    model: str
    classes: list[str]
    imgsz: int
    variants: list[Variant]
    task: str = "detect"
    dataset: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    tools: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # extra deck files: plots, results.csv
    schema: int = SCHEMA

    # --- reading and writing -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Any) -> Manifest:
        if not isinstance(d, dict):
            raise ManifestError("manifest.json must hold a JSON object")
        schema = d.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise ManifestError(f"manifest schema {schema} is not supported (this yolodeck reads schema {SCHEMA})")
        missing = [k for k in ("model", "classes", "imgsz", "variants") if k not in d]
        if missing:
            raise ManifestError(f"manifest is missing {', '.join(missing)}")
        classes = d["classes"]
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise ManifestError("'classes' must be a non-empty list of class names")
        if not isinstance(d["imgsz"], int) or not 32 <= d["imgsz"] <= 4096:
            raise ManifestError(f"'imgsz' must be an integer between 32 and 4096, not {d['imgsz']!r}")
        if d.get("task", "detect") != "detect":
            raise ManifestError(f"task {d.get('task')!r} is not supported (only 'detect')")
        if not isinstance(d["variants"], list):
            raise ManifestError("'variants' must be a list")
        variants = [Variant.from_dict(v) for v in d["variants"]]
        ids = [v.id for v in variants]
        if len(set(ids)) != len(ids):
            raise ManifestError(f"duplicate variant ids in {ids}")
        shared: dict[str, Variant] = {}
        for v in (v for v in variants if v.ok):  # variants may share a file, never disagree about it
            first = shared.setdefault(v.file, v)
            if (first.bytes, first.sha256) != (v.bytes, v.sha256):
                raise ManifestError(f"variants '{first.id}' and '{v.id}' share {v.file} but disagree on its size or "
                                    f"sha256")
        files = {str(k): safe_relpath(str(v), f"files[{k!r}]") for k, v in (d.get("files") or {}).items()}
        return cls(
            model=str(d["model"]), classes=list(classes), imgsz=d["imgsz"], variants=variants,
            dataset=dict(d.get("dataset") or {}), created=str(d.get("created", "")), tools=dict(d.get("tools") or {}),
            training=dict(d.get("training") or {}), files=files,
        )

    @classmethod
    def read(cls, deck: str | Path) -> Manifest:
        """Read and validate ``deck/manifest.json`` (or a manifest.json path)."""
        path = Path(deck)
        path = path / FILENAME if path.is_dir() else path
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ManifestError(f"no {FILENAME} in {path.parent}: is it a yolodeck deck?") from exc
        except (OSError, ValueError) as exc:
            raise ManifestError(f"{path} is not valid JSON ({exc})") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for v in d["variants"]:
            if v["status"] == "ok":
                v.pop("reason", None)
        return d

    def write(self, deck: str | Path) -> Path:
        path = Path(deck) / FILENAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    # --- queries -------------------------------------------------------------------------------

    @property
    def available(self) -> list[Variant]:
        return [v for v in self.variants if v.ok]

    def variant(self, variant_id: str) -> Variant:
        for v in self.variants:
            if v.id == variant_id:
                if not v.ok:
                    raise VariantNotFoundError(f"variant '{variant_id}' of {self.model} is unavailable: {v.reason}")
                return v
        raise VariantNotFoundError(
            f"variant '{variant_id}' not in {self.model}; available: {', '.join(v.id for v in self.available)}"
        )

    def find(self, *, backend: str | None = None, precision: str | None = None) -> Variant:
        """The variant with this backend and precision (either may be None: the first match)."""
        for v in self.available:
            if (backend is None or v.backend == backend) and (precision is None or v.precision == precision):
                return v
        have = ", ".join(f"{v.backend}/{v.precision}" for v in self.available)
        raise VariantNotFoundError(f"no {backend or 'any backend'}/{precision or 'any precision'} variant in "
                                   f"{self.model}; available: {have}")

    def reference(self) -> Variant | None:
        """The fp32 variant the others are compared with."""
        for vid in REFERENCE_IDS:
            for v in self.available:
                if v.id == vid and v.metrics:
                    return v
        return None

    def delta(self, variant: Variant) -> dict[str, float]:
        """Each metric, the latency and the size of ``variant`` minus the fp32 reference's."""
        ref = self.reference()
        if ref is None or variant.metrics is None or ref.metrics is None:
            return {}
        out = {k: getattr(variant.metrics, k) - getattr(ref.metrics, k) for k in METRIC_KEYS}
        if variant.latency_ms and ref.latency_ms:
            out["latency_median"] = variant.latency_ms.median - ref.latency_ms.median
            out["speedup"] = ref.latency_ms.median / max(variant.latency_ms.median, 1e-9)
        out["bytes"] = variant.bytes - ref.bytes
        return out

    def fastest_accurate(self, *, tolerance: float = 0.01, backends: list[str] | None = None) -> Variant:
        """The fastest variant whose mAP50 is within ``tolerance`` of the fp32 reference."""
        ref = self.reference()
        pool = [v for v in self.available if backends is None or v.backend in backends]
        if not pool:
            raise VariantNotFoundError(f"no variant of {self.model} runs on {', '.join(backends or [])}")
        good = [v for v in pool if ref is None or (v.metrics and v.metrics.map50 >= ref.metrics.map50 - tolerance)]
        timed = [v for v in (good or pool) if v.latency_ms]
        return min(timed, key=lambda v: v.latency_ms.median) if timed else (good or pool)[0]

    # --- integrity -----------------------------------------------------------------------------

    def verify(self, deck: str | Path, variants: list[Variant] | None = None) -> None:
        """Check each variant file's size and sha256 against the manifest."""
        for v in variants if variants is not None else self.available:
            v.verify_file(Path(deck) / v.file)

    # --- views ---------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """One row per variant, the seed projects' table: size, P, R, F1, mAP50, mAP50-95, latency, change."""
        rows = []
        for v in self.variants:
            m, lat, d = v.metrics, v.latency_ms, self.delta(v)
            rows.append({
                "variant": v.id, "backend": v.backend, "precision": v.precision, "status": v.status,
                "size_mb": round(v.bytes / 1e6, 2) if v.ok else None,
                "precision_": m and round(m.precision, 4), "recall": m and round(m.recall, 4),
                "f1": m and round(m.f1, 4), "map50": m and round(m.map50, 4), "map50_95": m and round(m.map50_95, 4),
                "latency_ms": lat and round(lat.median, 2), "latency_p90_ms": lat and round(lat.p90, 2),
                "d_map50": _rounded(d.get("map50"), 4), "d_map50_95": _rounded(d.get("map50_95"), 4),
                "speedup": _rounded(d.get("speedup"), 2), "reason": v.reason,
            })
        return rows

    def table(self) -> str:
        """A Markdown table of :meth:`rows`."""
        head = "| variant | size MB | P | R | F1 | mAP50 | mAP50-95 | d mAP50 | d mAP50-95 | ms (median) | ms (p90) | x fp32 |"
        lines = [head, "|" + "---|" * 12]

        def f(x: Any, fmt: str = "{:.3f}") -> str:
            return "-" if x is None else fmt.format(x)

        for r in self.rows():
            if r["status"] != "ok":
                lines.append(f"| {r['variant']} | unavailable: {r['reason']} |" + " |" * 10)
                continue
            lines.append(
                f"| {r['variant']} | {f(r['size_mb'], '{:.2f}')} | {f(r['precision_'])} | {f(r['recall'])} | "
                f"{f(r['f1'])} | {f(r['map50'])} | {f(r['map50_95'])} | {f(r['d_map50'], '{:+.4f}')} | "
                f"{f(r['d_map50_95'], '{:+.4f}')} | {f(r['latency_ms'], '{:.1f}')} | {f(r['latency_p90_ms'], '{:.1f}')} | "
                f"{f(r['speedup'], '{:.2f}')} |"
            )
        return "\n".join(lines)


def _rounded(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)
