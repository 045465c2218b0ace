"""yolodeck's errors: one small hierarchy so callers catch meaning, not status codes."""

from __future__ import annotations


class YolodeckError(Exception):
    """Base of every error yolodeck raises on purpose. The message names the thing and the fix."""


class InvalidImageError(YolodeckError, ValueError):
    """An image that cannot be used: corrupt, empty, unsupported type, or too large."""


class ImageTooLargeError(InvalidImageError):
    """An image over the size limits (bytes, pixels, side, or a decompression bomb): HTTP 413, not 422."""


class InvalidVideoError(YolodeckError, ValueError):
    """A video that cannot be used: not a video, truncated, no frames, or a codec that cannot be decoded."""


class BackendNotAvailableError(YolodeckError, ImportError):
    """The package a backend needs is not installed."""


class UnsupportedModelError(YolodeckError, ValueError):
    """A model file the runtime cannot run (unknown format or head layout)."""


class UntrustedCheckpointError(YolodeckError, ValueError):
    """A PyTorch checkpoint that can only be loaded by unpickling arbitrary code."""


class ManifestError(YolodeckError, ValueError):
    """A deck manifest that is missing, malformed, or does not match its files."""


class VariantNotFoundError(YolodeckError, KeyError):
    """A variant id, or backend/precision pair, that the deck does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class IntegrityError(YolodeckError):
    """A file whose size or sha256 differs from what the manifest says."""


class RepoError(YolodeckError):
    """Base of model-repo errors."""


class RepositoryNotFoundError(RepoError):
    """No repo with that id."""


class RevisionNotFoundError(RepoError):
    """No branch, tag or commit with that name in the repo."""


class EntryNotFoundError(RepoError):
    """No file with that path at that revision."""


class InvalidRepoIdError(RepoError, ValueError):
    """A repo id or file path that is not allowed (``..``, absolute, odd characters)."""


class HubUnreachableError(RepoError):
    """The hub endpoint could not be reached (network down, server gone)."""


class ConcurrentPushError(RepoError):
    """Another push to the same repo holds the lock, or moved the branch under this one."""


class StorageFullError(RepoError):
    """The hub's disk filled while writing: the commit did not land and left nothing behind."""


class SettingsError(YolodeckError, ValueError):
    """A ``YOLODECK_*`` environment variable whose value does not parse; the message names it."""


class TokenError(YolodeckError, ValueError):
    """A token request that cannot be done: unknown role, a name taken or not found."""


class DatasetError(YolodeckError, ValueError):
    """An export that cannot be imported as it is; the message names the file and what is wrong."""


class SpaceConfigError(YolodeckError, ValueError):
    """A Space README front matter that the Hub would reject."""


class StaticSpaceError(YolodeckError, ValueError):
    """A static Space that cannot be built as asked (no vendored runtime, no ONNX variant, unknown variant)."""
