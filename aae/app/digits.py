"""Turn an uploaded photo, scan or canvas drawing of one handwritten digit into a 28×28 MNIST-style image."""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage as ndi

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "NotADigitError",
    "array_to_mnist",
    "array_to_mnist_steps",
    "to_mnist",
    "to_mnist_steps",
]

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
MAX_FILE_BYTES = 20_000_000
MAX_PIXELS = 40_000_000
MIN_SIDE = 8

WORK_SIDE = 1000  # longer side of the working copy: plenty for a 20 px digit, and keeps memory/time small
BOX = 20  # MNIST: the digit's longer side
FRAME = 28  # MNIST: the output frame
MIN_CONTRAST = 0.1  # ink must differ from the paper by at least ~25 grey levels
SPECK_FRACTION = 0.05  # ink blobs with less core than this share of the largest blob are dust
MIN_CORE_PX = 6
MIN_CORE_FRACTION = 1e-4
# Mean stroke width in px at the 20 px scale, measured (2·area/edge) on MNIST digits upscaled 10×:
# 1st percentile 1.23, 5th 1.42, median 2.2. Only strokes thinner than nearly all of MNIST get widened.
MIN_STROKE = 1.3
TARGET_STROKE = 2.0

_KINDS = "PNG, JPEG, BMP, GIF, WebP"
_NOT_AN_IMAGE = f"This file is not an image we can read ({_KINDS})."
_DAMAGED = "The image file is damaged or incomplete, so it cannot be read. Try saving or exporting it again."
_BLANK = (
    "The image is blank: no digit found. Write one digit in dark pen on light paper "
    "(or light on dark) and make sure it is in the picture."
)


class NotADigitError(ValueError):
    """The input cannot be turned into a digit image; the message says why in plain words."""


def to_mnist(data: bytes) -> np.ndarray:
    """Convert an image file's bytes to a (28, 28) float32 array in [0, 1], white digit on black."""
    return to_mnist_steps(data)[-1][1]


def to_mnist_steps(data: bytes) -> list[tuple[str, np.ndarray]]:
    """Like `to_mnist`, but return every stage as (title, 2-D float32 array in [0, 1]) pairs.

    "grey" is the working copy (at most 1000 px a side); "cropped" has hairline strokes already widened.
    """
    return _pipeline(_grey_from_bytes(data))


def array_to_mnist(img: np.ndarray) -> np.ndarray:
    """Convert a drawing-canvas array, RGBA (H, W, 4), RGB (H, W, 3) or grey (H, W), to MNIST form."""
    return array_to_mnist_steps(img)[-1][1]


def array_to_mnist_steps(img: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Like `array_to_mnist`, but return every stage as (title, array) pairs."""
    return _pipeline(_grey_from_array(img))


# --- decoding -----------------------------------------------------------------------------------------


def _too_large(pixels: int | None, size: tuple[int, int] | None = None) -> NotADigitError:
    if size is not None:
        what = f"{size[0]}×{size[1]} = {pixels / 1e6:.0f} million pixels"
    elif pixels is not None:
        what = f"{pixels / 1e6:.0f} million pixels"
    else:
        what = "far too many pixels"
    return NotADigitError(
        f"The image is too large ({what}); the limit is {MAX_PIXELS / 1e6:.0f} million pixels. "
        "Shrink it and try again."
    )


def _too_small(size: tuple[int, int]) -> NotADigitError:
    return NotADigitError(
        f"The image is too small ({size[0]}×{size[1]} pixels) to hold a digit; "
        f"it must be at least {MIN_SIDE}×{MIN_SIDE} pixels."
    )


def _check_size(size: tuple[int, int]) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise _too_large(w * h, size)
    if min(w, h) < MIN_SIDE:
        raise _too_small(size)


def _open(data: bytes) -> Image.Image:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    n = memoryview(data).nbytes
    if n == 0:
        raise NotADigitError(f"The file is empty. Choose an image of a handwritten digit ({_KINDS}).")
    if n > MAX_FILE_BYTES:
        raise NotADigitError(
            f"The file is too large ({n / 1e6:.1f} MB); the limit is {MAX_FILE_BYTES / 1e6:.0f} MB. "
            "Shrink the image and try again."
        )
    try:
        # Pillow's bomb guard warns before it errors: make both errors, leaving its global limit alone.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        raise _too_large(int(found.group(1)) if found else None) from err
    except UnidentifiedImageError as err:
        raise NotADigitError(_NOT_AN_IMAGE) from err
    except Exception as err:  # any parser failure on untrusted bytes means a bad file
        raise NotADigitError(_DAMAGED) from err
    # Only the header has been read so far: refuse a bomb before any pixel is decoded.
    _check_size(img.size)
    return img


def _grey_from_bytes(data: bytes) -> np.ndarray:
    img = _open(data)
    try:
        if img.format in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 12 MP photo never exists in memory at full size.
            scale = WORK_SIDE / max(img.size)
            if scale < 1:
                img.draft(None, (max(1, int(img.width * scale)), max(1, int(img.height * scale))))
        img.load()
    except Exception as err:
        raise NotADigitError(_DAMAGED) from err
    with contextlib.suppress(Exception):  # a broken orientation tag is no reason to refuse the pixels
        img = ImageOps.exif_transpose(img)
    try:
        mode = img.mode
        if mode.startswith("I;16") or mode in ("I", "F"):
            target = "F" if mode == "F" else "I"
        elif "A" in mode or "a" in mode or "transparency" in img.info:
            target = "RGBA"
        elif mode in ("1", "L"):
            target = "L"
        else:  # RGB, CMYK, YCbCr, P without transparency, ...
            target = "RGB"
        work = img.convert(target) if mode != target else img
        if max(work.size) > WORK_SIDE:
            work.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        arr = np.asarray(work)
    except Exception as err:
        raise NotADigitError(_DAMAGED) from err
    if target == "I":
        top = int(arr.max())
        # 16-bit files may hold 8- or 12-bit sensor data; scale by the range actually used.
        full = 255.0 if top <= 255 else 4095.0 if top <= 4095 else 65535.0
        arr = arr.astype(np.float32) / full
    return _grey_from_array(arr)


def _grey_from_array(img: np.ndarray) -> np.ndarray:
    """Grey float32 in [0, 1], alpha composited, downscaled to WORK_SIDE; original polarity."""
    try:
        arr = np.asarray(img)
    except Exception as err:
        raise NotADigitError("The drawing could not be read as an image.") from err
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4))) or not (
        arr.dtype == bool or np.issubdtype(arr.dtype, np.number)
    ):
        raise NotADigitError(
            "The drawing must be a grey (height × width) or colour (height × width × 3 or 4) image."
        )
    _check_size((arr.shape[1], arr.shape[0]))
    # Cheap stride-subsampling first so a huge array is never copied to float at full size.
    step = max(1, max(arr.shape[:2]) // (2 * WORK_SIDE))
    arr = arr[::step, ::step]

    if arr.dtype == bool:
        x = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        full = 255.0 if arr.dtype.itemsize == 1 or arr.max() <= 255 else 65535.0
        x = arr.astype(np.float32) / full
    else:
        x = np.nan_to_num(arr.astype(np.float32))
        if x.max() > 1.0:
            x /= 255.0
    x = np.clip(x, 0.0, 1.0)

    if x.ndim == 2:
        grey, alpha = x, None
    elif x.shape[2] == 2:
        grey, alpha = x[:, :, 0], x[:, :, 1]
    else:
        grey = 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2]  # ITU-R 601 luma
        alpha = x[:, :, 3] if x.shape[2] == 4 else None
    if alpha is not None:
        grey = _composite(grey, alpha)

    if max(grey.shape) > WORK_SIDE:
        im = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
        im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        grey = np.asarray(im)
    return np.clip(grey, 0.0, 1.0).astype(np.float32)


def _composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put transparent pixels on a background of the opposite shade to the ink."""
    transparent = alpha < 0.5
    if transparent.mean() < 0.05:
        # Essentially opaque (a photo with a few see-through pixels): fill them with the paper's own shade.
        opaque = grey[~transparent]
        background = float(np.median(opaque)) if opaque.size else 1.0
    else:
        weight = alpha.sum()
        if weight < 1.0:
            raise NotADigitError(_BLANK)
        # The opaque strokes are the ink; dark ink goes on white, light ink on black.
        ink = float((grey * alpha).sum() / weight)
        background = 1.0 if ink < 0.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


# --- the MNIST pipeline -------------------------------------------------------------------------------


def _pipeline(grey: np.ndarray) -> list[tuple[str, np.ndarray]]:
    ink = _white_on_black(grey)
    crop = _crop(ink)
    fitted = _fit(crop)
    centred = _centre(fitted)
    return [
        ("grey", grey),
        ("white on black", ink),
        ("cropped", crop),
        (f"fitted into {BOX}×{BOX}", fitted),
        (f"centred by mass in {FRAME}×{FRAME}", centred),
    ]


def _mad_sigma(x: np.ndarray) -> float:
    """Noise standard deviation, robust to the ink (which is a minority of pixels)."""
    x = x.ravel()
    if x.size > 100_000:
        x = x[:: x.size // 100_000]
    return 1.4826 * float(np.median(np.abs(x - np.median(x))))


def _white_on_black(grey: np.ndarray) -> np.ndarray:
    lo, med, hi = np.percentile(grey, [0.1, 50.0, 99.9])
    dark, light = med - lo, hi - med
    # Ink is the minority: it sits in whichever tail reaches further from the paper (the median).
    if abs(dark - light) > 0.25 * max(dark, light):
        invert = dark > light
    else:
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        invert = float(np.median(border)) > 0.5
    x = 1.0 - grey if invert else grey

    r = x - _background(x)
    sigma = _mad_sigma(r)
    smooth = ndi.uniform_filter(r, 3)
    peak = float(smooth.max())
    if peak < max(MIN_CONTRAST, 8.0 * _mad_sigma(smooth)):
        raise NotADigitError(_BLANK)
    level = float(np.percentile(r[smooth > peak / 2], 90))
    floor = max(4.0 * sigma, 0.15 * level)
    if level - floor < MIN_CONTRAST / 2:
        raise NotADigitError(_BLANK)
    out = np.clip((r - floor) / (level - floor), 0.0, 1.0)
    return _drop_specks(out).astype(np.float32)


def _background(x: np.ndarray) -> np.ndarray:
    """Smooth paper level (gradient, shadow) as a robust quadratic surface fitted to non-ink pixels."""
    h, w = x.shape
    k = max(1, math.ceil(max(h, w) / 64))
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)
    sy, sx = np.meshgrid(ys[::k], xs[::k], indexing="ij")
    sy, sx = sy.ravel(), sx.ravel()
    v = x[::k, ::k].ravel().astype(np.float64)
    design = np.stack([np.ones_like(sx), sx, sy, sx * sx, sx * sy, sy * sy], axis=1).astype(np.float64)
    coef = np.zeros(6)
    coef[0] = np.median(v)
    for _ in range(4):
        resid = v - design @ coef
        keep = np.abs(resid - np.median(resid)) <= 3.0 * max(_mad_sigma(resid), 0.005)
        if keep.sum() < 4 * design.shape[1]:
            break
        a = design[keep]
        # 6×6 normal equations: lstsq's thread start-up costs more than this tiny solve.
        coef = np.linalg.solve(a.T @ a + 1e-9 * np.eye(6), a.T @ v[keep])
    c = coef.astype(np.float32)
    col, row = ys[:, None], xs[None, :]
    return c[0] + c[1] * row + c[2] * col + c[3] * row * row + c[4] * row * col + c[5] * col * col


def _drop_specks(out: np.ndarray) -> np.ndarray:
    """Keep ink blobs that have a solid core (hysteresis); isolated noise pixels and dust go."""
    labels, n = ndi.label(out > 0, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        raise NotADigitError(_BLANK)
    core = np.bincount(labels[out >= 0.5], minlength=n + 1)
    core[0] = 0
    biggest = int(core.max())
    if biggest < max(MIN_CORE_PX, MIN_CORE_FRACTION * out.size):
        raise NotADigitError(_BLANK)
    keep = core >= SPECK_FRACTION * biggest
    keep[0] = False
    return np.where(keep[labels], out, 0.0)


def _crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return _thicken(crop).astype(np.float32)


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of a float image to (width, height)."""
    im = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32))
    return np.clip(np.asarray(im.resize(size, Image.Resampling.LANCZOS)), 0.0, 1.0)


def _fitted_size(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    h, w = shape
    s = side / max(h, w)
    return max(1, round(w * s)), max(1, round(h * s))


def _thicken(crop: np.ndarray) -> np.ndarray:
    """Widen strokes much thinner than MNIST's (a fine pen photographed large), else leave them."""
    core = crop >= 0.5
    edge = int((core & ~ndi.binary_erosion(core)).sum())
    if edge == 0:
        return crop
    longest = max(crop.shape)
    width = 2.0 * core.sum() / edge * BOX / longest  # mean stroke width at the 20 px scale
    if width >= MIN_STROKE:
        return crop
    if longest > 8 * BOX:
        crop = _resize(crop, _fitted_size(crop.shape, 8 * BOX))
        longest = max(crop.shape)
    radius = (TARGET_STROKE - width) / 2.0 * longest / BOX
    pad = math.ceil(radius)
    yy, xx = np.mgrid[-pad : pad + 1, -pad : pad + 1]
    disk = yy * yy + xx * xx <= radius * radius
    return ndi.grey_dilation(np.pad(crop, pad), footprint=disk)


def _fit(crop: np.ndarray) -> np.ndarray:
    fitted = _resize(crop, _fitted_size(crop.shape, BOX))
    top = float(fitted.max())
    if top <= 0.0:
        raise NotADigitError(_BLANK)
    return (fitted / top).astype(np.float32)


def _centre(fitted: np.ndarray) -> np.ndarray:
    """Paste into 28×28 with the centre of mass on pixel (14, 14), as MNIST does (its mean is 14.0, 14.0)."""
    h, w = fitted.shape
    cy, cx = ndi.center_of_mass(fitted)
    top = min(max(math.floor(FRAME / 2 - cy + 0.5), 0), FRAME - h)
    left = min(max(math.floor(FRAME / 2 - cx + 0.5), 0), FRAME - w)
    out = np.zeros((FRAME, FRAME), dtype=np.float32)
    out[top : top + h, left : left + w] = fitted
    return out
