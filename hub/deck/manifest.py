"""The deck manifest: the contract between training, hub and apps, as pydantic models.

``manifest.json`` names the model, its classes and input size, and lists every variant
(file, bytes, sha256, status, metrics, latency). It is validated on read, so a bad or
tampered manifest is a :class:`ManifestError` naming the field, never a crash deep in an
app. The JSON Schema is generated from these models into ``hub/deck/manifest.schema.json``
(``python -m hub.deck.manifest`` rewrites it; a test keeps it in sync). The model card,
``hub show``, the app's pickers and the dashboard are all views of a manifest (``hub.deck.card``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.base import catalog
from hub.base.errors import IntegrityError, ManifestError, VariantNotFoundError
from hub.base.paths import relpath

FILENAME = "manifest.json"
SCHEMA: Literal[1] = 1
SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
METRIC_KEYS = ("precision", "recall", "f1", "map50", "map50_95")


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


RelPath = Annotated[str, AfterValidator(relpath)]
Score = Annotated[float, Field(ge=0.0, le=1.0)]


class _Model(BaseModel):
    # unknown keys are ignored (a newer yolodeck may add some); types are strict (no "320" for 320)
    model_config = ConfigDict(strict=True, extra="ignore", validate_assignment=True)


class GapGroup(_Model):
    """Empty facings of one kind on the test split, and how many of them the variant found."""

    kind: str = Field(description="e.g. 'under 0.75 facing wide', 'at a row's end'")
    gaps: Annotated[int, Field(ge=0)]
    found: Annotated[int, Field(ge=0)]


class Gaps(_Model):
    """Where a deck with an ``empty`` class misses gaps (``training.gaps``): the test split's empty facings
    grouped by width (in the row's median product widths) and by position (a row's first or last box, or
    inside), each counted found when a box of the class at ``conf`` or above overlaps it at IoU >= 0.5."""

    conf: float = Field(description="the score the empty boxes were kept from: the class's own threshold")
    by_width: list[GapGroup]
    by_position: list[GapGroup]

    @property
    def measured(self) -> list[GapGroup]:
        """The groups with at least one gap, by width then by position: what a share can be given for."""
        return [x for x in self.by_width + self.by_position if x.gaps]


class Metrics(_Model):
    """Accuracy of one variant on the deck's test split."""

    precision: Score
    recall: Score
    f1: Score
    map50: Score
    map50_95: Score
    per_class: dict[str, float] = Field(default_factory=dict, description="AP50-95 per class name")
    conf: float | None = Field(None, description="the confidence where F1 peaks (where P, R and F1 are read)")
    pr_curve: list[Annotated[float, Field(ge=-1.0, le=1.0)]] = Field(
        default_factory=list, description="class-mean precision at recall 0, 0.01, ..., 1 (IoU 0.5)")
    thresholds: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict, description="per class, the confidence where its F1 peaks on the test split "
        "(smoothed; a class with few objects takes the class-mean peak): what detect(conf='best') keeps")
    gaps: Gaps | None = Field(None, description="a deck with an 'empty' class: where it misses gaps")


class Latency(_Model):
    """End-to-end ``detect()`` milliseconds, measured on the machine that built the deck."""

    median: Annotated[float, Field(ge=0.0)]
    p90: Annotated[float, Field(ge=0.0)]
    threads: int
    imgsz: int
    cpu: str | None = Field(None, description="the CPU it was measured on: model name and instruction sets")
    spread: float | None = Field(None, description="slowest block median / quietest: over 2, the machine was busy")


class ScalePoint(_Model):
    """The reference variant on the test split shown with its objects at one size (``training.scale``)."""

    object_px: Annotated[float, Field(gt=0.0, description="median object side (square root of its area) at the "
                                                         "network input, in pixels")]
    map50_95: Score
    recall: Score


class ObjectScale(_Model):
    """How large the deck's objects are at the network input, and how small they may get before it misses them:
    ``detect(tiles="auto")`` tiles a photo so that its objects reach ``min_px``."""

    median_px: Annotated[float, Field(gt=0.0, description="the test split's median object side, as it is")]
    min_px: Annotated[float, Field(gt=0.0, description="the smallest median object side at which mAP50-95 stays "
                                                      "within 5% of the curve's best")]
    variant: str
    curve: list[ScalePoint]


class Variant(_Model):
    """One deployable file of the deck (or the reason it could not be made)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    # the catalog's, as a JSON Schema enum (a Literal made at run time: a type checker cannot read it)
    backend: Literal[tuple(catalog.BACKENDS)]  # type: ignore[valid-type]
    precision: Literal[catalog.PRECISIONS]  # type: ignore[valid-type]
    file: RelPath
    bytes: int = 0
    sha256: str = ""
    status: Literal["ok", "unavailable"] = "ok"
    reason: str | None = None
    metrics: Metrics | None = None
    latency_ms: Latency | None = None
    tools: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> Variant:
        if self.status == "unavailable":
            if not self.reason:
                raise ValueError("an unavailable variant must say why ('reason')")
        elif self.bytes <= 0:
            raise ValueError("'bytes' must be a positive integer")
        elif len(self.sha256) != 64 or self.sha256.strip("0123456789abcdef"):
            raise ValueError("'sha256' must be 64 lowercase hex characters")
        return self

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


class Manifest(_Model):
    """A deck: the model, its classes and input size, and every variant."""

    schema_: Literal[1] = Field(SCHEMA, alias="schema", description="the manifest format version")
    model: str
    task: Literal["detect"] = "detect"
    classes: Annotated[list[str], Field(min_length=1)]
    imgsz: Annotated[int, Field(ge=32, le=4096)]
    variants: list[Variant]
    dataset: dict[str, Any] = Field(default_factory=dict)
    created: str = Field(default_factory=now_iso)
    tools: dict[str, str] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    architecture: dict[str, Any] = Field(default_factory=dict,
                                         description="parameters and GFLOPs at imgsz, as Ultralytics counts them")
    objects: ObjectScale | None = None
    files: dict[str, RelPath] = Field(default_factory=dict, description="extra deck files: plots, examples")
    build: dict[str, float] = Field(default_factory=dict, description="where the deck build's time went: wall "
                                    "seconds per stage (*_s) and milliseconds per test image and variant (*_ms)")

    model_config = ConfigDict(strict=True, extra="ignore", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        ids = [v.id for v in self.variants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate variant ids in {ids}")
        shared: dict[str, Variant] = {}
        for v in self.available:  # variants may share a file, never disagree about it
            first = shared.setdefault(v.file, v)
            if (first.bytes, first.sha256) != (v.bytes, v.sha256):
                raise ValueError(f"variants '{first.id}' and '{v.id}' share {v.file} but disagree on its size or "
                                 f"sha256")
        return self

    # --- reading and writing -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """Validate a parsed manifest; a :class:`ManifestError` names each field that is wrong."""
        if not isinstance(data, dict):
            raise ManifestError("manifest.json must hold a JSON object")
        if data.get("schema", SCHEMA) != SCHEMA:
            raise ManifestError(f"manifest schema {data.get('schema')} is not supported (this yolodeck reads schema "
                                f"{SCHEMA})")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ManifestError("manifest.json: " + "; ".join(_describe(e, data) for e in exc.errors())) from None

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
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

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
        """The fp32 variant the others are compared with (the catalog's order of references)."""
        by_id = {v.id: v for v in self.available if v.metrics}
        return next((by_id[vid] for vid in catalog.REFERENCES if vid in by_id), None)

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

    # --- integrity -----------------------------------------------------------------------------

    def verify(self, deck: str | Path, variants: list[Variant] | None = None) -> None:
        """Check each variant file's size and sha256 against the manifest."""
        for v in variants if variants is not None else self.available:
            v.verify_file(Path(deck) / v.file)


def _describe(error: Any, data: dict[str, Any]) -> str:
    """One pydantic error as 'variants[2] (tflite-int8).sha256: message'."""
    where: list[str] = []
    node: Any = data
    for part in error["loc"]:
        if isinstance(part, int):
            vid = node[part].get("id") if isinstance(node, list) and part < len(node) and isinstance(node[part], dict) \
                else None
            where[-1] += f"[{part}]" + (f" ({vid})" if vid else "")
        else:
            where.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    msg = error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(where) or 'manifest'}: {msg}"


def json_schema() -> str:
    """The manifest's JSON Schema, as committed in ``hub/deck/manifest.schema.json``."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$id"] = "https://github.com/yolodeck/yolodeck/hub/deck/manifest.schema.json"
    schema["title"] = "yolodeck deck manifest"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m hub.deck.manifest: rewrite the committed schema
    SCHEMA_FILE.write_text(json_schema())
    print(SCHEMA_FILE)
