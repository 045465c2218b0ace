"""Image input: everything a user may hand the detector, decoded to one RGB uint8 array.

Decoding is Pillow's (EXIF orientation, 16-bit, palette, CMYK); the checks that keep a bad
or hostile input from costing memory happen before any pixel is decoded. :func:`read_image`
may decode a JPEG of 2 MP or more reduced (its DCT scaling, 1/2 to 1/8, through ``Image.draft``) when the
next step needs fewer pixels: a 12 MP photo for a 416 px network decodes in a sixth of the time.
Pillow's draft was measured against OpenCV's ``IMREAD_REDUCED_COLOR_8`` on a 12 MP JPEG here
(30 vs 28 ms, against 194 ms for a full decode) and kept: one decoder for every format and mode,
with EXIF orientation and the header checks it already has. At half scale (a 3000 x 4000 shelf for
tiles, 4.2 MB) it is 65 ms against OpenCV's 52 (Intel Xeon, AVX-512): the entropy decoding, which no
scaling shortens, is most of both; the rest is Pillow's one copy into numpy.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hub.base.errors import ImageTooLargeError, InvalidImageError

MAX_PIXELS = 40_000_000  # about 7,300 x 5,500: larger photos are not detection inputs
MAX_BYTES = 50 * 1024 * 1024
MAX_SIDE = 20_000

ImageLike = Any  # numpy array, PIL.Image, str / Path, bytes
# A JPEG smaller than this is decoded whole, however small the network: a 640 px one takes 2.7-3.1 ms whole and
# 2.2 ms at half scale, while the half-scale read cost the demo deck 0.003 mAP50-95 on its 640 px test set (onnx-fp32
# at 320 px: 0.8142 against 0.8172, Ultralytics' val 0.8205; AMD EPYC, AVX-512). A 12 MP photo saves 160 ms.
REDUCE_FROM_PIXELS = 2_000_000


def _check_size(width: int, height: int, what: str | Callable[[], str]) -> None:
    """``what`` names the input in the message; a callable is called only to raise (arrays: the hot path)."""
    if width > 0 and height > 0 and width * height <= MAX_PIXELS and max(width, height) <= MAX_SIDE:
        return
    what = what() if callable(what) else what
    if width <= 0 or height <= 0:
        raise InvalidImageError(f"{what} is empty ({width}x{height} pixels)")
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise ImageTooLargeError(
            f"{what} is too large ({width}x{height} = {width * height / 1e6:.0f} MP; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} MP and {MAX_SIDE} px a side): resize it first"
        )


_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


Fit = int | Callable[[int, int], int | None] | None  # the long side needed, or what works it out from (w, h)


def _draft(im: Image.Image, fit: Fit) -> tuple[int, int]:
    """Ask a JPEG for its smallest DCT-scaled decode whose long side is still at least ``fit``; return the
    image's full size as shown (after its EXIF orientation)."""
    w, h = im.size  # as stored; ``fit`` works in the image as shown (a grid's rows and columns are the shown ones)
    shown = (h, w) if im.getexif().get(0x0112, 1) in _TRANSPOSED else (w, h)
    fit = fit(*shown) if callable(fit) else fit
    if fit and im.format == "JPEG" and max(w, h) >= 2 * fit and w * h >= REDUCE_FROM_PIXELS:
        scale = fit / max(w, h)
        im.draft(None, (max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale)))))
    return shown


def _from_pil(im: Image.Image, what: str, fit: Fit = None) -> tuple[np.ndarray, tuple[int, int]]:
    _check_size(*im.size, what)
    try:
        full = _draft(im, fit)
        return _pixels(im), full
    except InvalidImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError(f"{what} could not be decoded ({exc}); is the file truncated or corrupt?") from exc


def _pixels(im: Image.Image) -> np.ndarray:
    """The pixels of ``im`` (first frame, EXIF orientation applied) as RGB uint8."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im.seek(0)  # first frame of an animation
        if im.getexif().get(0x0112, 1) != 1:  # else exif_transpose copies it as it is: 2 ms on a 12 MP photo
            im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float32)
            top = 65535.0 if arr.max() > 255 else 255.0
            return np.repeat((arr / top * 255).clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (114, 114, 114, 255))
            return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
        return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))  # convert() copies even an RGB image


def _open_bytes(data: bytes, what: str, fit: Fit = None) -> tuple[np.ndarray, tuple[int, int]]:
    if not data:
        raise InvalidImageError(f"{what} is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise ImageTooLargeError(f"{what} is {len(data) / 2**20:.0f} MB; the upload limit is {MAX_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))  # reads the header only
    except (UnidentifiedImageError, ImportError) as exc:
        # ImportError: Ultralytics patches Image.open to try an optional HEIF plugin when Pillow fails
        head = data[:64].lstrip().lower()
        hint = " (it looks like SVG/XML, which is not supported)" if head.startswith((b"<?xml", b"<svg")) else ""
        hint = " (it looks like a PDF)" if head.startswith(b"%pdf") else hint
        raise InvalidImageError(f"{what} is not an image Pillow can read{hint}; use JPEG, PNG, WebP or BMP") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"{what} declares too many pixels (decompression bomb?): {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"{what} could not be read ({exc})") from exc
    with im:
        return _from_pil(im, what, fit)


def _from_array(arr: np.ndarray, bgr: bool) -> np.ndarray:
    shape, dtype = arr.shape, arr.dtype

    def what() -> str:  # formatted only for an error
        return f"array of shape {shape} and dtype {dtype}"

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidImageError(f"{what()} is not an image: expected HxW, HxWx3 or HxWx4")
    _check_size(arr.shape[1], arr.shape[0], what)
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InvalidImageError(f"{what()} contains NaN or infinite values")
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        arr = (arr * scale).clip(0, 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise InvalidImageError(f"{what()} has an unsupported dtype; use uint8, uint16 or float")
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255
        arr = (arr[..., :3] * alpha + 114 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr[..., ::-1] if bgr else arr)


def read_image(source: ImageLike, *, bgr: bool = False, fit: Fit = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``source`` into an RGB uint8 array; also return the image's own (width, height).

    Args:
        source: a numpy array (RGB unless ``bgr``), a PIL image, a file path, or encoded bytes.
        bgr: the array is in OpenCV's BGR order.
        fit: the long side the next step needs (the network input), or a function of the image's (width,
            height) that returns it (tiles: it depends on the grid): an encoded JPEG at least twice that is
            decoded reduced, to no less than ``fit``; the size returned is still the full image's.

    Raises:
        InvalidImageError: the input is not a usable image; the message says why.
    """
    if isinstance(source, np.ndarray):
        arr = _from_array(source, bgr)
        return arr, (arr.shape[1], arr.shape[0])
    if isinstance(source, Image.Image):
        return _from_pil(source, f"image ({source.mode}, {source.size[0]}x{source.size[1]})")
    if isinstance(source, bytes | bytearray | memoryview):
        return _open_bytes(bytes(source), "image data", fit)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise InvalidImageError(f"image file {path} does not exist")
        if not path.is_file():
            raise InvalidImageError(f"{path} is not a file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ImageTooLargeError(f"{path.name} is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB")
        return _open_bytes(path.read_bytes(), f"image file {path.name}", fit)
    if source is None:
        raise InvalidImageError("no image given")
    raise InvalidImageError(f"unsupported image type {type(source).__name__}: use a numpy array, PIL image, path or bytes")


def load_image(source: ImageLike, *, bgr: bool = False) -> np.ndarray:
    """Decode ``source`` at full size into an RGB uint8 array (H, W, 3); see :func:`read_image`."""
    return read_image(source, bgr=bgr)[0]
