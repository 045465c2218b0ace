"""yolodeck's public hub API: push a deck, pull a variant, load a Detector."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub import card
from hub.errors import EntryNotFoundError, HubUnreachableError, IntegrityError, ManifestError, RepoError
from hub.manifest import FILENAME, Manifest, Variant
from hub.offline import cache_dir
from hub.runtime import Detector, available
from hub.store import validate_path, validate_repo_id, validate_revision
from hub.store.hf import HfStore
from hub.store.local import LocalStore

Store = LocalStore | HfStore


def open_store(endpoint: str | None = None, *, token: str | None = None) -> Store:
    """The embedded hub (default, or ``local`` / a folder path) or a Hub endpoint URL.

    ``$YOLODECK_ENDPOINT`` is used when no endpoint is given.
    """
    endpoint = endpoint or os.environ.get("YOLODECK_ENDPOINT") or "local"
    if endpoint == "local":
        return LocalStore()
    if endpoint.startswith(("http://", "https://")):
        return HfStore(endpoint, token=token)
    return LocalStore(Path(endpoint.removeprefix("file://")))


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


def _place(src: Path, dst: Path, *, check=None) -> None:
    """Copy ``src`` to ``dst`` through a temp file of its own, checked, then renamed into place: two pulls
    of one file at once (two app users, two variants sharing a file) never see or move a partial copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(src, tmp)
        if check is not None:
            check(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _pull_root(store: Store, repo: str) -> Path:
    return cache_dir() / "pulls" / store.key / repo.replace("/", "--")


def _resolve(store: Store, repo: str, revision: str) -> str:
    """Revision -> commit; offline, the commit this revision had when it was last pulled."""
    ref_file = _pull_root(store, repo) / "refs" / revision.replace("/", "%2F")
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    if not offline:
        try:
            commit = store.resolve(repo, revision)
        except HubUnreachableError as exc:  # fall back to what this revision was when last pulled
            if not ref_file.is_file():
                raise HubUnreachableError(f"{exc}; and {repo}@{revision} was never pulled here") from exc
        else:
            ref_file.parent.mkdir(parents=True, exist_ok=True)
            ref_file.write_text(commit)
            return commit
    if not ref_file.is_file():
        raise RepoError(f"offline and {repo}@{revision} was never pulled here")
    return ref_file.read_text().strip()


def resolve(repo: str, *, revision: str = "main", endpoint: str | None = None, token: str | None = None) -> str:
    """The commit a revision points to (offline: the one it pointed to when last pulled)."""
    validate_repo_id(repo)
    validate_revision(revision)
    return _resolve(open_store(endpoint, token=token), repo, revision)


def fetch_extra(repo: str, path: str, *, revision: str = "main", endpoint: str | None = None,
                token: str | None = None) -> Path | None:
    """One of the deck's extra files (``manifest.files``: example images, plots), cached; None if absent."""
    validate_repo_id(repo)
    store = open_store(endpoint, token=token)
    commit = _resolve(store, repo, revision)
    target = _pull_root(store, repo) / "snapshots" / commit / validate_path(path)
    if target.is_file():
        return target
    try:
        src = store.fetch(repo, path, revision=commit)
    except EntryNotFoundError:
        return None
    _place(src, target)
    return target


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
    validate_repo_id(repo)
    validate_revision(revision)
    store = open_store(endpoint, token=token)
    commit = _resolve(store, repo, revision)
    target = Path(local_dir) if local_dir else _pull_root(store, repo) / "snapshots" / commit
    _fetch_manifest(store, repo, revision, commit, target, refresh=local_dir is not None)
    manifest = Manifest.read(target)
    chosen = choose_variants(manifest, variant=variant, backend=backend, precision=precision)
    wanted = dict.fromkeys([v.file for v in chosen] + ["README.md"] + ([] if (variant or backend or precision)
                                                                       else list(manifest.files.values())))
    for rel in wanted:
        dst = target / rel
        entry = next((v for v in chosen if v.file == rel), None)
        if dst.is_file() and (entry is None or _verified(entry, dst)):
            continue
        try:
            src = store.fetch(repo, rel, revision=commit)
        except EntryNotFoundError:
            if entry is not None:
                raise IntegrityError(f"variant '{entry.id}': {rel} is listed in the manifest but missing from "
                                     f"{repo}@{revision}") from None
            continue  # the card and plots are optional
        try:
            _place(src, dst, check=entry.verify_file if entry is not None else None)
        except IntegrityError as exc:
            raise IntegrityError(f"{repo}@{revision}: {exc}") from exc
    return target


def _verified(variant: Variant, path: Path) -> bool:
    try:
        variant.verify_file(path)
        return True
    except IntegrityError:
        return False


def choose_variants(manifest: Manifest, *, variant: str | None, backend: str | None, precision: str | None) -> list[Variant]:
    if variant:
        return [manifest.variant(variant)]
    if backend or precision:
        return [manifest.find(backend=backend, precision=precision)]
    return manifest.available


def load(
    repo: str,
    *,
    variant: str | None = None,
    backend: str | None = None,
    precision: str | None = None,
    revision: str = "main",
    endpoint: str | None = None,
    threads: int | None = None,
) -> Detector:
    """Pull one variant and return a :class:`Detector` for it.

    With no variant, backend or precision: the fastest variant within 0.01 mAP50 of fp32 among the
    backends installed here.

    Example:
        >>> detector = hub.load("acme/shelves", backend="tflite", precision="int8")
        >>> detector.detect("shelf.jpg").counts()
    """
    if not (variant or backend or precision):
        manifest = manifest_of(repo, revision=revision, endpoint=endpoint)
        installed = [b for b in ("onnxruntime", "tflite", "torchscript", "torch", "openvino") if available(b)]
        variant = manifest.fastest_accurate(backends=installed).id
    folder = pull(repo, variant=variant, backend=backend, precision=precision, revision=revision, endpoint=endpoint)
    manifest = Manifest.read(folder)
    chosen = choose_variants(manifest, variant=variant, backend=backend, precision=precision)[0]
    return Detector(folder / chosen.file, backend=chosen.backend, names=manifest.classes, imgsz=manifest.imgsz,
                    threads=threads)


def manifest_of(repo: str, *, revision: str = "main", endpoint: str | None = None, token: str | None = None) -> Manifest:
    """Just the manifest of a repo at a revision (cached like any pull)."""
    validate_repo_id(repo)
    validate_revision(revision)
    store = open_store(endpoint, token=token)
    commit = _resolve(store, repo, revision)
    target = _pull_root(store, repo) / "snapshots" / commit
    _fetch_manifest(store, repo, revision, commit, target)
    return Manifest.read(target)


def _fetch_manifest(store: Store, repo: str, revision: str, commit: str, target: Path, *,
                    refresh: bool = False) -> None:
    """Put the commit's manifest.json in ``target``, validated before it is written.

    Cache folders are per commit, so a manifest there is current; a user's ``local_dir`` is refreshed.
    """
    target.mkdir(parents=True, exist_ok=True)
    if (target / FILENAME).is_file() and not refresh:
        return
    try:
        src = store.fetch(repo, FILENAME, revision=commit)
    except EntryNotFoundError as exc:
        raise ManifestError(f"{repo}@{revision} has no {FILENAME}: it is not a yolodeck deck") from exc
    Manifest.read(src)
    _place(src, target / FILENAME)

