"""What the server keeps is bounded: the shared dataset holds no float copy of the training images a page's
computation read, the model cache keeps at most MODELS_KEPT models, and the digit grids need no torchvision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ui import caches


def test_a_float_copy_of_the_training_images_goes_with_the_view_that_read_it(data_dir, monkeypatch):
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    first = caches.splits("mnist")
    read = first.train_x
    assert read.dtype == torch.float32 and read.shape[1:] == (1, 28, 28)
    second = caches.splits("mnist")
    # The next caller makes its own copy: the first one was not kept by the process-wide cache.
    assert second.train_x is not read and second.val_x is not first.val_x
    assert torch.equal(second.train_x, read)
    # The test images every page shows are one shared float tensor, not a copy per caller.
    assert second.test_x is first.test_x
    assert torch.equal(second.test_y, first.test_y)


def test_the_model_cache_keeps_at_most_models_kept_models():
    paths = sorted(str(p.parent) for p in caches.SHIPPED_DIR.glob("*/card.json"))
    if len(paths) <= caches.MODELS_KEPT:
        pytest.skip("fewer shipped models than the cache keeps")
    first = caches.load(paths[0])
    assert caches.load(paths[0]) is first  # kept while fewer than MODELS_KEPT others were used since
    for path in paths[1:caches.MODELS_KEPT + 1]:
        caches.load(path)
    assert caches.load(paths[0]) is not first  # MODELS_KEPT others later, it was let go (and loaded again)


@pytest.mark.parametrize(("shape", "nrow", "padding"), [
    ((12, 1, 28, 28), 4, 2), ((7, 1, 28, 28), 10, 2), ((1, 1, 28, 28), 10, 2), ((30, 1, 28, 28), 10, 0),
    ((5, 3, 16, 16), 2, 3), ((11, 1, 28, 28), 3, 1), ((28, 28), 10, 2),
])
def test_image_grid_lays_images_out_as_torchvision_does(shape, nrow, padding):
    from torchvision.utils import make_grid

    from aae.app.explore import image_grid

    images = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2  # clamped to [0, 1]
    expected = make_grid(images.clamp(0, 1), nrow=nrow, padding=padding, pad_value=0.25)[0].numpy()
    grid = image_grid(images, nrow=nrow, padding=padding)
    assert grid.dtype == np.float32 and np.array_equal(grid, expected)
