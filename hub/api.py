"""yolodeck's public hub API: push a deck, open a repo's deck, pull a variant, load a Detector."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub.base import catalog, offline, settings
from hub.base.errors import EntryNotFoundError, IntegrityError, ManifestError
from hub.deck import card, choose
from hub.deck.manifest import FILENAME, Manifest, Variant
from hub.runtime import Detector
from hub.store import validate_path, validate_repo_id, validate_revision
from hub.store.client import RepoClient
from hub.store.hf import HfStore
from hub.store.local import LocalStore


def open_store(endpoint: str | None = None, *, token: str | None = None) -> RepoClient:
    """The embedded hub (default, or ``local`` / a folder path) or a Hub endpoint URL.

    ``$YOLODECK_ENDPOINT`` is used when no endpoint is given.
    """
    endpoint = endpoint or settings.current().endpoint or "local"
    if endpoint == "local":
        return LocalStore()
    if endpoint.startswith(("http://", "https://")):
        return HfStore(endpoint, token=token)
    return LocalStore(Path(endpoint.removeprefix("file://")))


@dataclass(frozen=True)
class VariantQuery:
    """Which variant(s) of a deck: by id, or by backend and/or precision; empty means "you choose"."""

    variant: str | None = None
    backend: str | None = None
    precision: str | None = None

    def __bool__(self) -> bool:
        return bool(self.variant or self.backend or self.precision)

    def select(self, manifest: Manifest) -> list[Variant]:
        """The variants to pull: the one asked for, or every available one."""
        if self.variant:
            return [manifest.variant(self.variant)]
        if self.backend or self.precision:
            return [manifest.find(backend=self.backend, precision=self.precision)]
        return manifest.available

    def one(self, manifest: Manifest) -> Variant:
        """The variant to run: the one asked for, else the fastest accurate one among installed backends, by
        the deck's own latencies (:meth:`RepoDeck.default_variant` probes this machine instead)."""
        return self.select(manifest)[0] if self else choose.by_figures(manifest, backends=catalog.installed())


@dataclass(frozen=True)
class RepoDeck:
    """A repo's deck at one commit: resolved once, its manifest read once, its files fetched on demand."""

    store: RepoClient
    repo: str
    revision: str
    commit: str
    manifest: Manifest

    @property
    def runnable(self) -> list[Variant]:
        """The available variants whose backend is installed here."""
        have = catalog.installed()
        return [v for v in self.manifest.available if v.backend in have]

    def backends(self) -> list[str]:
        return list(dict.fromkeys(v.backend for v in self.runnable))

    def precisions(self, backend: str) -> list[str]:
        return [p for p in catalog.PRECISIONS if any(v.backend == backend and v.precision == p for v in self.runnable)]

    def default_variant(self, *, probe: bool | None = None, threads: int | None = None) -> Variant:
        """The fastest accurate variant on this machine: probed here (a second or so, once per commit and
        CPU; see :mod:`hub.deck.choose`), or by the deck's own figures with ``probe=False`` or
        ``$YOLODECK_PROBE=0``."""
        if probe is None:
            probe = settings.current().probe
        if not probe:
            return VariantQuery().one(self.manifest)
        return choose.here(self.manifest, self.commit, lambda v: self.load(VariantQuery(v.id), threads=threads),
                           threads=threads)

    def file(self, variant: Variant, *, local_dir: Path | None = None) -> Path:
        """The variant's file, checked against the manifest every time (a cached copy too).

        A copy that does not match is removed and fetched once more; if that one does not match either,
        IntegrityError, and nothing is left behind.
        """
        try:
            path = self.store.download(self.repo, variant.file, revision=self.commit, local_dir=local_dir)
        except EntryNotFoundError:
            raise IntegrityError(f"variant '{variant.id}': {variant.file} is listed in the manifest but missing "
                                 f"from {self.repo}@{self.revision}") from None
        try:
            variant.verify_file(path)
            return path
        except IntegrityError:
            _evict(path)  # a stale or damaged copy: fetch it once more
        path = self.store.download(self.repo, variant.file, revision=self.commit, local_dir=local_dir)
        try:
            variant.verify_file(path)
        except IntegrityError as exc:
            _evict(path)
            raise IntegrityError(f"{self.repo}@{self.revision}: {exc}") from exc
        return path

    def extra(self, path: str, *, local_dir: Path | None = None) -> Path | None:
        """One of the deck's other files (the card, example images, plots); None if absent."""
        try:
            return self.store.download(self.repo, validate_path(path), revision=self.commit, local_dir=local_dir)
        except EntryNotFoundError:
            return None

    def pull(self, query: VariantQuery = VariantQuery(), *, local_dir: str | Path | None = None) -> Path:
        """Fetch the queried variants (all by default, with the card and plots); return their folder."""
        target = Path(local_dir) if local_dir else None
        chosen = query.select(self.manifest)
        manifest = self.store.download(self.repo, FILENAME, revision=self.commit, local_dir=target)
        for v in chosen:
            self.file(v, local_dir=target)
        for rel in ["README.md", *([] if query else self.manifest.files.values())]:
            self.extra(rel, local_dir=target)
        return manifest.parent

    def load(self, query: VariantQuery = VariantQuery(), *, threads: int | None = None,
             busy_wait: bool | None = None, probe: bool | None = None) -> Detector:
        """A Detector for the queried variant (default: :meth:`default_variant`)."""
        chosen = query.one(self.manifest) if query else self.default_variant(probe=probe, threads=threads)
        trained_on = self.manifest.dataset.get("image_size") or []  # what detect(tiles="auto") tiles to
        objects = self.manifest.objects
        return Detector(self.file(chosen), backend=chosen.backend, names=self.manifest.classes,
                        imgsz=self.manifest.imgsz, threads=threads, busy_wait=busy_wait,
                        tile_px=int(max(trained_on)) if trained_on else None,
                        min_object_px=objects.min_px if objects else None,
                        thresholds=chosen.metrics.thresholds if chosen.metrics else None)


def _evict(path: Path) -> None:
    """Remove a file that failed its check (in the Hub cache: the snapshot link and the blob it points to)."""
    real = path.resolve()
    path.unlink(missing_ok=True)
    real.unlink(missing_ok=True)


def open_deck(repo: str, *, revision: str = "main", endpoint: str | None = None,
              token: str | None = None) -> RepoDeck:
    """Resolve ``revision`` and read the deck's manifest, once. Offline, what was last pulled.

    Raises:
        RepositoryNotFoundError / RevisionNotFoundError: no such repo or revision.
        ManifestError: the repo holds no valid manifest.json.
        HubUnreachableError: the hub cannot be reached and this revision was never pulled here.
    """
    validate_repo_id(repo)
    validate_revision(revision)
    store = open_store(endpoint, token=token)
    commit = store.resolve(repo, revision)
    try:
        path = store.download(repo, FILENAME, revision=commit)
    except EntryNotFoundError as exc:
        raise ManifestError(f"{repo}@{revision} has no {FILENAME}: it is not a yolodeck deck") from exc
    try:
        manifest = Manifest.read(path.parent)
    except ManifestError:
        _evict(path)
        raise
    return RepoDeck(store, repo, revision, commit, manifest)


@dataclass(frozen=True)
class PushResult:
    repo: str
    commit: str
    tag: str | None
    endpoint: str


def push(
    deck: str | Path,
    *,
    repo: str,
    tag: str | None = None,
    private: bool = False,
    endpoint: str | None = None,
    message: str | None = None,
    token: str | None = None,
) -> PushResult:
    """Publish a deck as one commit (manifest, generated card, every variant, training plots).

    Args:
        deck: a deck folder from ``python -m training deck``.
        repo: ``OWNER/NAME``; created if needed.
        tag: also tag the new commit (e.g. ``v1``).

    Raises:
        ManifestError / IntegrityError: the deck is invalid or its files do not match the manifest;
        nothing is pushed.

    Example:
        >>> hub.push("build/deck", repo="acme/shelves", tag="v1")
    """
    validate_repo_id(repo)
    if tag:
        validate_revision(tag)
    deck = Path(deck)
    manifest = Manifest.read(deck)
    manifest.verify(deck)
    store = open_store(endpoint, token=token)
    with tempfile.TemporaryDirectory(prefix="yolodeck-push-") as tmp:
        staging = Path(tmp)
        # variants may share a file (OpenVINO runs the ONNX files): each file once
        for rel in dict.fromkeys([FILENAME, *(v.file for v in manifest.available), *manifest.files.values()]):
            src = deck / rel
            if src.is_file():
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(src, staging / rel)
        (staging / "README.md").write_text(card.render(manifest, repo_id=repo))
        store.create_repo(repo, private=private, exist_ok=True)
        commit = store.commit_folder(
            repo, staging, message=message or f"Deck {manifest.model}: {len(manifest.available)} variants",
        )
    if tag:
        store.create_tag(repo, tag, revision=commit)
    return PushResult(repo, commit, tag, store.location)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def resolve(repo: str, *, revision: str = "main", endpoint: str | None = None, token: str | None = None) -> str:
    """The commit a revision points to (offline: the one it pointed to when last pulled)."""
    return open_deck(repo, revision=revision, endpoint=endpoint, token=token).commit


def manifest_of(repo: str, *, revision: str = "main", endpoint: str | None = None, token: str | None = None) -> Manifest:
    """Just the manifest of a repo at a revision (cached like any pull)."""
    return open_deck(repo, revision=revision, endpoint=endpoint, token=token).manifest


def fetch_extra(repo: str, path: str, *, revision: str = "main", endpoint: str | None = None,
                token: str | None = None) -> Path | None:
    """One of the deck's extra files (``manifest.files``: example images, plots), cached; None if absent."""
    return open_deck(repo, revision=revision, endpoint=endpoint, token=token).extra(path)


def pull(
    repo: str,
    *,
    variant: str | None = None,
    backend: str | None = None,
    precision: str | None = None,
    revision: str = "main",
    endpoint: str | None = None,
    local_dir: str | Path | None = None,
    token: str | None = None,
) -> Path:
    """Download a deck (or one variant of it), verified by sha256, cached per commit; return the folder.

    With ``variant`` or ``backend``/``precision`` only that variant's file is fetched (plus the
    manifest and card). Once pulled, the same call works offline.

    Raises:
        ManifestError: the repo holds no valid manifest.json.
        VariantNotFoundError: no such variant (the message lists those available).
        IntegrityError: a file's sha256 differs from the manifest; the file is not kept.
    """
    deck = open_deck(repo, revision=revision, endpoint=endpoint, token=token)
    return deck.pull(VariantQuery(variant, backend, precision), local_dir=local_dir)


def load(
    repo: str,
    *,
    variant: str | None = None,
    backend: str | None = None,
    precision: str | None = None,
    revision: str = "main",
    endpoint: str | None = None,
    threads: int | None = None,
    token: str | None = None,
    probe: bool | None = None,
) -> Detector:
    """Pull one variant and return a :class:`Detector` for it.

    With no variant, backend or precision: the fastest accurate variant (:mod:`hub.deck.choose`) among the
    backends installed here, measured here (``probe``: a short probe cached per commit and CPU; False,
    or ``$YOLODECK_PROBE=0``: the deck's own latencies).

    Example:
        >>> detector = hub.load("acme/shelves", backend="tflite", precision="int8")
        >>> detector.detect("shelf.jpg").counts()
    """
    offline.configure()
    deck = open_deck(repo, revision=revision, endpoint=endpoint, token=token)
    return deck.load(VariantQuery(variant, backend, precision), threads=threads, probe=probe)
