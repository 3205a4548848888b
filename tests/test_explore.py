import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from aae.app.explore import (
    cycled_labels,
    image_grid,
    interpolate,
    latent_range,
    manifold,
    manifold_codes,
    nearest,
    plane_density,
    to_png,
    traversal_codes,
)
from aae.core.inference import decode_all, encode_all
from aae.core.models import AAEConfig, build_model
from aae.core.priors import PriorConfig, make_prior


def test_image_grid_and_png():
    images = torch.rand(12, 1, 28, 28)
    grid = image_grid(images, nrow=4, padding=2)
    assert grid.shape == (3 * 30 + 2, 4 * 30 + 2) and grid.dtype == np.float32
    decoded = np.asarray(Image.open(io.BytesIO(to_png(grid))))
    assert decoded.shape == grid.shape and abs(decoded / 255 - grid).max() <= 1 / 255


def test_manifold_codes_are_a_regular_grid():
    z = manifold_codes(5, 2.0)
    assert z.shape == (25, 2)
    assert torch.allclose(z[0], torch.tensor([-2.0, 2.0])) and torch.allclose(z[-1], torch.tensor([2.0, -2.0]))
    assert torch.allclose(z[:5, 1], torch.full((5,), 2.0))  # first row: top of the plane


def test_manifold_needs_two_dimensions():
    model2 = build_model("aae", AAEConfig(latent_dim=2, hidden=16, prior=PriorConfig("gaussian", 1.0)))
    assert manifold(model2, n=4).shape == (16, 1, 28, 28)
    with pytest.raises(ValueError, match="2-D"):
        manifold(build_model("aae", AAEConfig(latent_dim=3, hidden=16)), n=4)


def test_traversal_changes_only_one_dimension():
    z = torch.tensor([1.0, 2.0, 3.0])
    codes = traversal_codes(z, 1, torch.linspace(-1, 1, 5))
    assert torch.equal(codes[:, 0], torch.ones(5)) and torch.equal(codes[:, 2], torch.full((5,), 3.0))
    assert torch.equal(codes[:, 1], torch.linspace(-1, 1, 5))
    with pytest.raises(ValueError):
        traversal_codes(z, 3, torch.zeros(2))


def test_interpolations_start_and_end_at_the_codes():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    for mode in ("linear", "spherical"):
        path = interpolate(z0, z1, 7, mode)
        assert path.shape == (7, 2)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    # slerp keeps the norm of equal-norm endpoints; lerp shrinks it mid-way
    assert torch.allclose(interpolate(z0, z1, 7, "spherical").norm(dim=1), torch.full((7,), 3.0), atol=1e-4)
    assert interpolate(z0, z1, 7, "linear")[3].norm() < 2.2


def test_nearest():
    codes = torch.tensor([[0.0, 0], [5, 5], [1, 0], [0, 2]])
    assert nearest(codes, torch.tensor([0.9, 0.1]), k=2).tolist() == [2, 0]


def test_encode_and_decode_all_batch_like_one_call():
    model = build_model("aae", AAEConfig(latent_dim=2, hidden=16)).eval()
    x = torch.rand(25, 1, 28, 28)
    assert torch.allclose(encode_all(model, x, batch_size=7), model.encode(x), atol=1e-6)
    z = torch.randn(9, 2)
    assert torch.allclose(decode_all(model, z, batch_size=4), model.decode(z), atol=1e-6)


@pytest.mark.parametrize("name", ["gaussian", "uniform"])
def test_plane_density_of_a_factorised_prior_is_its_2d_marginal(name):
    high = make_prior(PriorConfig(name, 2.0), 8)
    low = make_prior(PriorConfig(name, 2.0), 2)
    xs, ys, density = plane_density(high, resolution=40)
    xs2, ys2, density2 = low.density_grid(extent=high.extent(), resolution=40)
    assert density.shape == (40, 40) and torch.allclose(xs, xs2) and torch.allclose(ys, ys2)
    assert torch.allclose(density, density2)
    assert float(density.max()) == pytest.approx(1.0)


def test_plane_density_of_a_2d_prior_is_its_density_grid():
    prior = make_prior(PriorConfig("mog10", 1.0), 2)
    _, _, density = plane_density(prior, extent=3.0, resolution=30)
    assert torch.allclose(density, prior.density_grid(extent=3.0, resolution=30)[2])
    # a mixture on a ring: nothing at the centre, its peaks away from it
    assert density[15, 15] < 0.01 and density.max() == pytest.approx(1.0)


def test_latent_range_follows_the_prior_scale():
    assert latent_range(make_prior(PriorConfig("gaussian", 5.0), 8)) == pytest.approx(15.0)
    assert latent_range(make_prior(PriorConfig("uniform", 1.0), 3)) == pytest.approx(math.sqrt(3))
    mog = make_prior(PriorConfig("mog10", 1.0), 2)
    assert latent_range(mog) == pytest.approx(mog.extent())
    # nearly all of a mixture's samples lie inside the range
    z = mog.sample(2000, generator=torch.Generator().manual_seed(0))
    assert (z.abs() <= latent_range(mog)).float().mean() > 0.99


def test_cycled_labels_make_columns_classes():
    labels = cycled_labels(25)
    assert labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert labels.shape == (25,) and labels.max() == 9
    assert (cycled_labels(40).reshape(4, 10) == torch.arange(10)).all()


def test_frames_of_a_training_run_become_an_animated_gif():
    from aae.app.explore import LatentFrame, frames_gif

    codes = torch.randn(50, 2)
    frames = [LatentFrame(step=i, epoch=i / 2, codes=codes * (3 - i), labels=torch.arange(50) % 10,
                          distance=1.0 / (i + 1), extent=4.0) for i in range(3)]
    gif = Image.open(io.BytesIO(frames_gif(frames, torch.rand(40, 40))))
    assert gif.format == "GIF" and gif.n_frames == 3 and gif.size == (320, 320)
    gif.seek(0)
    first = np.asarray(gif.convert("RGB")).copy()
    gif.seek(2)
    assert (np.asarray(gif.convert("RGB")) != first).any()  # the dots moved
    with pytest.raises(ValueError, match="no frames"):
        frames_gif([])


def test_a_frame_holds_the_decoded_manifold_and_the_exports_show_it_beside_the_codes(tiny_models, small_splits):
    import imageio_ffmpeg

    from aae.app.explore import frames_gif, frames_mp4, latent_frame, manifold, manifold_image
    from aae.core.checkpoints import load_checkpoint

    model = load_checkpoint(tiny_models["tiny-aae-2d-gaussian"]).model
    images, labels = small_splits.test_x[:100], small_splits.test_y[:100]
    draws = model.sample_latent(100, generator=torch.Generator().manual_seed(0))
    frame = latent_frame(model, images, labels, draws, step=0, epoch=0.0, extent=4.0, manifold_n=6)
    assert frame.manifold.dtype == torch.uint8 and frame.manifold.shape == (36, 28, 28)
    expected = (manifold(model, n=6).reshape(36, 28, 28) * 255).round()
    assert (frame.manifold.float() - expected).abs().max() <= 1  # the model's own manifold, as bytes
    sheet = manifold_image(frame, scale=2)
    assert sheet.shape == (6 * 28 * 2, 6 * 28 * 2)
    assert np.array_equal(sheet[:56:2, 28 * 2:28 * 4:2], frame.manifold[1].numpy())  # row 0, column 1
    assert latent_frame(model, images, labels, draws, step=0, epoch=0.0, extent=4.0, manifold_n=0).manifold is None

    later = latent_frame(model, images, labels, draws, step=5, epoch=1.0, extent=4.0, manifold_n=6)
    later.codes = later.codes * 0.5
    gif = Image.open(io.BytesIO(frames_gif([frame, later], torch.rand(40, 40), size=160)))
    assert gif.size == (320, 160)  # the codes, and the manifold beside them
    right = np.asarray(gif.convert("L"))[:, 160:]
    assert right.std() > 10  # digits, not a blank panel

    video = frames_mp4([frame, later], torch.rand(40, 40), size=160)
    assert video[4:8] == b"ftyp"  # an MP4 container
    reader = imageio_ffmpeg.read_frames(_written(video, "run.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (320, 160) and sum(1 for _ in reader) == 2


def _written(data: bytes, name: str) -> str:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / name
    path.write_bytes(data)
    return str(path)
