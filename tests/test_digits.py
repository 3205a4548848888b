"""Tests for aae.app.digits: photos, scans and canvas drawings of a digit turned into MNIST-style 28×28 images."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from aae.app.digits import NotADigitError, array_to_mnist, array_to_mnist_steps, to_mnist, to_mnist_steps

STAGES = ["grey", "white on black", "cropped", "fitted into 20×20", "centred by mass in 28×28"]


# --- helpers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(mnist_slice_dir) -> np.ndarray:
    """20 real MNIST test digits as uint8 (n, 28, 28), white on black (the slice kept with the tests)."""
    from aae.core.data import load_split

    images, _ = load_split("mnist", train=False, data_dir=mnist_slice_dir)
    return images[:20].numpy()


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def ink_layer(digit: np.ndarray, side: int) -> np.ndarray:
    """The MNIST digit upscaled to side×side, float in [0, 1] (1 = ink)."""
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(big, dtype=np.float32) / 255.0, 0.0, 1.0)


def scan(
    digit: np.ndarray,
    *,
    size: tuple[int, int] = (600, 800),
    side: int = 300,
    at: tuple[int, int] = (80, 150),
    angle: float = 0.0,
    seed: int = 0,
) -> Image.Image:
    """A greyscale 'scan': dark ink on light grey paper with a gradient, a soft shadow and sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = (
        215.0
        - 15.0 * (2 * yy / h - 1)
        - 12.0 * np.exp(-((xx - w) ** 2 + (yy - h) ** 2) / (2 * (0.4 * w) ** 2))
    )
    paper += rng.normal(0.0, 4.0, (h, w))
    ink = np.zeros((h, w), np.float32)
    top, left = at
    ink[top : top + side, left : left + side] = ink_layer(digit, side)
    img = Image.fromarray(np.clip(paper * (1.0 - 0.85 * ink), 0, 255).astype(np.uint8))
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return img


def corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images."""
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def com_offset(out: np.ndarray) -> float:
    cy, cx = ndi.center_of_mass(out)
    return max(abs(cy - 14.0), abs(cx - 14.0))


def box_side(out: np.ndarray, level: float = 0.05) -> int:
    ys, xs = np.nonzero(out > level)
    return int(max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1))


def assert_mnist_like(out: np.ndarray) -> None:
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0.0
    assert out.max() <= 1.0
    assert out.max() > 0.99
    corners = np.concatenate([out[:3, :3], out[:3, -3:], out[-3:, :3], out[-3:, -3:]])
    assert corners.max() < 0.05
    assert com_offset(out) <= 1.0
    assert box_side(out) in (19, 20)


def png_with_declared_size(width: int, height: int) -> bytes:
    """A real, tiny PNG whose IHDR (with a correct CRC) claims width×height pixels."""
    data = bytearray(encode(Image.new("L", (8, 8), 255), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def raises_fast(data: bytes) -> NotADigitError:
    start = time.perf_counter()
    with pytest.raises(NotADigitError) as info:
        to_mnist(data)
    assert time.perf_counter() - start < 1.0  # a safety bound, not a benchmark
    err = info.value
    assert isinstance(err, ValueError)
    message = str(err)
    assert message.strip()
    for jargon in ("PIL", "cannot identify", "Traceback", "numpy", "IHDR", "decompression"):
        assert jargon not in message
    return err


# --- real digits, scanned and photographed ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize(("angle", "each", "mean"), [(0.0, 0.8, 0.9), (5.0, 0.6, 0.8)])
def test_scan_comes_back_as_the_original_digit(
    mnist: np.ndarray, fmt: str, angle: float, each: float, mean: float
) -> None:
    scores = []
    for i in range(6):
        img = scan(mnist[i], at=(60 + 40 * i, 40 + 30 * i), angle=angle, seed=i)
        out = to_mnist(encode(img, fmt, quality=85) if fmt == "JPEG" else encode(img, fmt))
        assert_mnist_like(out)
        scores.append(corr(out, mnist[i]))
    assert min(scores) > each, scores
    assert np.mean(scores) > mean, scores


def test_mnist_digit_itself_is_unchanged(mnist: np.ndarray) -> None:
    for digit in mnist[:5]:
        out = to_mnist(encode(Image.fromarray(digit), "PNG"))
        assert_mnist_like(out)
        assert corr(out, digit) > 0.97


def test_white_on_black_is_not_inverted(mnist: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    page = 20 + 200 * ink_layer(mnist[0], 280) + rng.normal(0, 3, (280, 280))
    out = to_mnist(encode(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)), "PNG"))
    assert_mnist_like(out)
    assert corr(out, mnist[0]) > 0.9


def test_light_pencil_on_grey_paper(mnist: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    page = 200 - 55 * ink_layer(mnist[1], 300) + rng.normal(0, 4, (300, 300))
    out = to_mnist(encode(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)), "JPEG", quality=85))
    assert_mnist_like(out)
    assert corr(out, mnist[1]) > 0.8


def test_phone_photo_shadow_becomes_black(mnist: np.ndarray) -> None:
    # Grey paper lit from one side (120 → 205) with vignetting; the pen is at 40.
    rng = np.random.default_rng(3)
    h, w = 900, 700
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = 120 + 85 * xx / w - 25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    ink = np.zeros((h, w), np.float32)
    ink[300:650, 200:550] = ink_layer(mnist[3], 350)
    page = paper * (1 - ink) + 40 * ink + rng.normal(0, 5, (h, w))
    photo = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    steps = dict(to_mnist_steps(encode(photo, "JPEG", quality=85)))
    clean = steps["white on black"]
    far = ~ndi.binary_dilation(ink > 0.05, iterations=10)
    assert clean.shape == (h, w)
    assert np.count_nonzero(clean[far]) < 1e-4 * far.sum()
    assert clean.max() == 1.0
    out = steps["centred by mass in 28×28"]
    assert_mnist_like(out)
    assert corr(out, mnist[3]) > 0.8


def test_specks_of_dust_do_not_move_the_crop(mnist: np.ndarray) -> None:
    clean = scan(mnist[0], seed=4)
    dusty = np.asarray(clean).copy()
    rng = np.random.default_rng(4)
    for y, x in zip(rng.integers(0, 800, 40), rng.integers(0, 600, 40), strict=True):
        dusty[y, x] = 0  # isolated black pixels
    for y, x in [(10, 10), (780, 580), (700, 40), (20, 560)]:
        dusty[y : y + 3, x : x + 3] = 30  # small dust blobs near the corners
    expected = to_mnist(encode(clean, "PNG"))
    out = to_mnist(encode(Image.fromarray(dusty), "PNG"))
    assert_mnist_like(out)
    assert np.abs(out - expected).max() < 0.15
    assert corr(out, mnist[0]) > 0.9


def test_large_phone_photo_is_downscaled_early(mnist: np.ndarray) -> None:
    big = scan(mnist[2], size=(400, 300), side=150, at=(60, 200), seed=5).resize(
        (4000, 3000), Image.Resampling.BICUBIC
    )
    data = encode(big, "JPEG", quality=85)
    start = time.perf_counter()
    steps = to_mnist_steps(data)
    assert time.perf_counter() - start < 2.0
    assert max(steps[0][1].shape) <= 1000
    out = steps[-1][1]
    assert_mnist_like(out)
    assert corr(out, mnist[2]) > 0.8


def test_exif_orientation_is_applied(mnist: np.ndarray) -> None:
    upright = scan(mnist[0], seed=6)
    # Orientation 6: the camera stored the picture turned; viewers rotate it 90° clockwise to show it.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = to_mnist(encode(stored, "JPEG", quality=85, exif=exif))
    assert_mnist_like(out)
    assert corr(out, mnist[0]) > 0.8
    sideways = to_mnist(encode(stored, "JPEG", quality=85))
    assert corr(sideways, mnist[0]) < 0.5  # so the check above does depend on the orientation tag


# --- formats and colour modes -------------------------------------------------------------------------


def _variants(digit: np.ndarray) -> dict[str, bytes]:
    page = scan(digit, size=(300, 400), side=200, at=(100, 50), seed=7)
    grey = np.asarray(page)
    ink = ink_layer(digit, 200)
    strokes = np.zeros((260, 260), np.float32)
    strokes[30:230, 20:220] = ink
    alpha = (255 * strokes).astype(np.uint8)
    zeros = np.zeros_like(alpha)
    full = np.full_like(alpha, 255)

    blue = np.array([20, 50, 170], np.float32)
    paper = np.array([235, 232, 225], np.float32)
    pen = paper * (1 - strokes[..., None]) + blue * strokes[..., None]
    two_frames = [
        page.convert("P"),
        scan(digit[::-1], size=(300, 400), side=200, at=(100, 50), seed=8).convert("P"),
    ]
    gif = io.BytesIO()
    two_frames[0].save(gif, "GIF", save_all=True, append_images=two_frames[1:])
    transparent_p = Image.fromarray(np.where(alpha > 127, 1, 0).astype(np.uint8), "P")
    transparent_p.putpalette([255, 255, 255, 0, 0, 0])
    return {
        "L png": encode(page, "PNG"),
        "L bmp": encode(page, "BMP"),
        "1 png": encode(page.point(lambda v: 255 if v > 128 else 0).convert("1"), "PNG"),
        "LA png": encode(page.convert("LA"), "PNG"),
        "RGB jpeg": encode(page.convert("RGB"), "JPEG", quality=85),
        "RGB webp": encode(page.convert("RGB"), "WEBP", quality=85),
        "RGBA webp": encode(page.convert("RGBA"), "WEBP", quality=85),
        "CMYK jpeg": encode(page.convert("CMYK"), "JPEG", quality=90),
        "P gif": encode(page.convert("P"), "GIF"),
        "P gif, first frame": gif.getvalue(),
        "P png, transparent background": encode(transparent_p, "PNG", transparency=0),
        "I;16 png": encode(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"),
        "blue pen, RGB png": encode(Image.fromarray(pen.astype(np.uint8)), "PNG"),
        "black strokes on transparent, RGBA png": encode(
            Image.fromarray(np.dstack([zeros] * 3 + [alpha])), "PNG"
        ),
        "white strokes on transparent, RGBA png": encode(
            Image.fromarray(np.dstack([full] * 3 + [alpha])), "PNG"
        ),
        "grey strokes on transparent black, LA png": encode(
            Image.fromarray(np.dstack([np.full_like(alpha, 180), alpha]), "LA"), "PNG"
        ),
    }


VARIANTS = [
    "L png",
    "L bmp",
    "1 png",
    "LA png",
    "RGB jpeg",
    "RGB webp",
    "RGBA webp",
    "CMYK jpeg",
    "P gif",
    "P gif, first frame",
    "P png, transparent background",
    "I;16 png",
    "blue pen, RGB png",
    "black strokes on transparent, RGBA png",
    "white strokes on transparent, RGBA png",
    "grey strokes on transparent black, LA png",
]


@pytest.fixture(scope="module")
def variants(mnist: np.ndarray) -> dict[str, bytes]:
    return _variants(mnist[0])


@pytest.mark.parametrize("name", VARIANTS)
def test_every_format_and_mode(mnist: np.ndarray, variants: dict[str, bytes], name: str) -> None:
    out = to_mnist(variants[name])
    assert_mnist_like(out)
    assert corr(out, mnist[0]) > 0.85


def test_variant_files_really_have_the_modes_they_claim(variants: dict[str, bytes]) -> None:
    expected = {
        "1 png": ("PNG", "1"),
        "LA png": ("PNG", "LA"),
        "CMYK jpeg": ("JPEG", "CMYK"),
        "P gif": ("GIF", "P"),
        "I;16 png": ("PNG", "I;16"),
        "RGBA webp": ("WEBP", "RGB"),  # no real transparency, so WebP stores RGB
        "black strokes on transparent, RGBA png": ("PNG", "RGBA"),
    }
    for name, (fmt, mode) in expected.items():
        img = Image.open(io.BytesIO(variants[name]))
        assert (img.format, img.mode) == (fmt, mode), name
    assert getattr(Image.open(io.BytesIO(variants["P gif, first frame"])), "n_frames", 1) == 2


# --- the stages ---------------------------------------------------------------------------------------


def test_steps_are_named_in_order_and_end_in_to_mnist(mnist: np.ndarray) -> None:
    data = encode(scan(mnist[4], seed=9), "JPEG", quality=85)
    steps = to_mnist_steps(data)
    assert [title for title, _ in steps] == STAGES
    for title, arr in steps:
        assert arr.ndim == 2, title
        assert arr.dtype == np.float32, title
        assert arr.min() >= 0.0, title
        assert arr.max() <= 1.0, title
    assert max(steps[3][1].shape) == 20
    assert steps[4][1].shape == (28, 28)
    np.testing.assert_array_equal(steps[-1][1], to_mnist(data))


# --- canvas arrays ------------------------------------------------------------------------------------


def _canvas_seven(size: int = 280) -> np.ndarray:
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.line([(40, 50), (150, 50), (90, 200)], fill=(255, 255, 255, 255), width=14, joint="curve")
    return np.asarray(canvas)


def test_canvas_seven_is_centred() -> None:
    out = array_to_mnist(_canvas_seven())
    assert_mnist_like(out)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    top_row = out[rows[0] : rows[0] + 3].sum(axis=0)
    assert np.count_nonzero(top_row > 0.5) >= 10  # the bar of the 7 runs across the top
    assert out[rows[-1] - 2 : rows[-1] + 1].sum() < top_row.sum()  # and the foot is narrow


def test_canvas_one_as_grey_array() -> None:
    canvas = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(canvas).line([(150, 20), (140, 180)], fill=255, width=12)
    steps = array_to_mnist_steps(np.asarray(canvas))
    out = steps[-1][1]
    assert_mnist_like(out)
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert len(cols) <= 6  # a narrow upright stroke, not stretched to a square
    assert [title for title, _ in steps] == STAGES


def test_canvas_opaque_white_background_with_coloured_strokes() -> None:
    canvas = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    ImageDraw.Draw(canvas).line([(40, 50), (150, 50), (90, 200)], fill=(200, 30, 30, 255), width=14)
    out = array_to_mnist(np.asarray(canvas))
    assert_mnist_like(out)
    assert corr(out, array_to_mnist(_canvas_seven())) > 0.9


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((280, 280, 4), np.uint8),  # nothing drawn
        np.zeros((280, 280), np.uint8),
        np.full((280, 280, 3), 255, np.uint8),
        np.zeros((4, 4, 4), np.uint8),  # too small
        np.zeros((50, 50, 5), np.uint8),  # not an image shape
        np.zeros((50,), np.uint8),
        np.array([["a", "b"]]),
    ],
)
def test_canvas_bad_arrays(arr: np.ndarray) -> None:
    with pytest.raises(NotADigitError) as info:
        array_to_mnist(arr)
    assert str(info.value).strip()


# --- bad files ----------------------------------------------------------------------------------------


def test_empty_and_not_an_image() -> None:
    assert "empty" in str(raises_fast(b""))
    for data in (
        b"hello",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        bytes(1000),
    ):
        assert "not an image" in str(raises_fast(data))


def test_truncated_files(mnist: np.ndarray) -> None:
    page = scan(mnist[0], seed=10)
    for data in (encode(page, "PNG"), encode(page, "JPEG", quality=85)):
        raises_fast(data[: len(data) // 2])


@pytest.mark.parametrize(
    "page",
    [
        np.full((400, 300), 255, np.uint8),
        np.zeros((400, 300), np.uint8),
        np.full((400, 300), 128, np.uint8),
    ],
    ids=["white", "black", "grey"],
)
def test_blank_uniform_pages(page: np.ndarray) -> None:
    for fmt in ("PNG", "JPEG"):
        assert "blank" in str(raises_fast(encode(Image.fromarray(page), fmt)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blank_paper_texture(seed: int) -> None:
    # Grey paper with a gradient, blotches of ±15 grey levels and sensor noise, but no stroke.
    rng = np.random.default_rng(seed)
    h, w = 800, 600
    yy = np.mgrid[0:h, 0:w][0]
    blotches = ndi.gaussian_filter(rng.normal(0, 1, (h, w)), 25)
    page = 210 + 20 * (yy / h - 0.5) + 15 * blotches / np.abs(blotches).max() + rng.normal(0, 6, (h, w))
    data = encode(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)), "JPEG")
    assert "blank" in str(raises_fast(data))


def test_decompression_bombs_are_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    before = Image.MAX_IMAGE_PIXELS
    huge = png_with_declared_size(30_000, 30_000)  # Pillow's own guard fires on this one
    over = png_with_declared_size(8_000, 6_000)  # 48 megapixels: under Pillow's limit, over ours
    assert len(huge) < 200
    assert len(over) < 200
    for data in (huge, over):
        assert "too large" in str(raises_fast(data))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # someone else switched Pillow's guard off
    assert "too large" in str(raises_fast(huge))
    monkeypatch.undo()
    assert before == Image.MAX_IMAGE_PIXELS


def test_file_too_large_in_bytes() -> None:
    data = encode(Image.new("L", (8, 8)), "PNG") + bytes(21_000_000)
    assert "too large" in str(raises_fast(data))


@pytest.mark.parametrize("size", [(5, 5), (7, 40), (40, 7)])
def test_image_too_small(size: tuple[int, int]) -> None:
    assert "too small" in str(raises_fast(encode(Image.new("L", size, 255), "PNG")))


def test_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        to_mnist("digit.png")  # type: ignore[arg-type]


def test_fine_pen_strokes_are_widened_to_mnist_thickness() -> None:
    # A 4 px pen line in a 230 px tall digit would be a 0.35 px hairline at MNIST's scale.
    img = Image.new("L", (1000, 750), 200)
    ImageDraw.Draw(img).line([(400, 250), (520, 250), (450, 480)], fill=40, width=4)
    out = to_mnist(encode(img, "PNG"))
    assert_mnist_like(out)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    widths = (out[rows[3] : rows[-1] - 1] > 0.5).sum(axis=1)  # the slanted stem, below the bar
    assert 1.5 <= widths.mean() <= 3.5
