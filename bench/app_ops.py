"""Wall time of the app operations a user waits for, on the shipped models (median of repeats).

decode a 10×10 grid · encode one uploaded photo (conversion + encoder) · one traversal-slider
update (decode one image and upscale it for display) · project 10,000 test codes with PCA,
t-SNE and UMAP (first call and again: the first pays imports and UMAP's numba compile).
`--quick` projects 2,000 codes and skips nothing else.

    python bench/app_ops.py [--quick] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aae.app.digits import to_mnist
from aae.app.explore import image_grid
from aae.core.checkpoints import load_checkpoint
from aae.core.data import load_dataset
from aae.core.device import describe_device
from aae.core.inference import encode_all

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def photo_bytes(digit: np.ndarray) -> bytes:
    """A real MNIST digit as a 1200×900 JPEG photo of dark ink on light paper."""
    ink = Image.fromarray((255 - digit * 255).astype(np.uint8)).resize((500, 500), Image.LANCZOS)
    paper = Image.new("L", (1200, 900), 225)
    paper.paste(ink, (300, 200))
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--warm-umap", action="store_true",
                        help="compile UMAP first, as the app does at start: the UMAP 'first call' is then a user's")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "aae-8d"))
    args = parser.parse_args()
    model = load_checkpoint(args.model).model
    splits = load_dataset("mnist", data_dir=args.data_dir, val_size=0, test=True)
    print(f"machine: {platform.machine()}, {describe_device('cpu')}, torch {torch.__version__}; "
          f"model {Path(args.model).name} ({model.latent_dim}-D); data: MNIST test set")
    generator = torch.Generator().manual_seed(0)

    def grid() -> None:
        image_grid(model.decode(model.sample_latent(100, generator=generator)), nrow=10)

    z = model.sample_latent(1, generator=generator)

    def slider() -> None:
        z[0, 0] += 0.01
        image = model.decode(z)[0, 0].numpy()
        np.kron(image, np.ones((8, 8), dtype=np.float32))

    upload = photo_bytes(splits.test_x[0, 0].numpy())

    def encode() -> None:
        model.encode(torch.from_numpy(to_mnist(upload))[None, None])

    print(f"{'operation':44s}{'median':>10s}")
    print(f"{'decode a 10×10 grid':44s}{median_ms(grid, 30):8.1f} ms")
    print(f"{'traversal-slider update (decode one image)':44s}{median_ms(slider, 50):8.1f} ms")
    print(f"{'encode one upload (1200×900 JPEG photo)':44s}{median_ms(encode, 10):8.1f} ms")

    from aae.app.projections import project, warm_up

    if args.warm_umap:  # what the app does in a background thread at start
        print(f"{'UMAP warm-up (the app runs it at start)':44s}{warm_up('umap'):8.1f} s")
    n = 2000 if args.quick else 10_000
    codes = encode_all(model, splits.test_x[:n]).numpy()
    for method, runs in (("pca", ("first call", "again")), ("tsne", ("",)), ("umap", ("first call", "again"))):
        for run in runs:  # first calls pay imports (and UMAP's numba compile); the app caches results
            started = time.perf_counter()
            project(codes, method)
            label = f"project {n} codes with {method.upper()}" + (f" ({run})" if run else "")
            print(f"{label:44s}{time.perf_counter() - started:8.1f} s")


if __name__ == "__main__":
    main()
