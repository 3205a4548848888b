"""AppTest of views/style_space.py on a small StyleGAN: paths in Z and W, the mixing grid, truncation, noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from page_runner import open_page

from aae.core.checkpoints import save_checkpoint
from aae.core.spec import resolve
from aae.core.training import create_model
from aae.lab.recipes import get_recipe

CELL = 3 * 30  # one 28-pixel image with its 2-pixel border, upscaled 3×


@pytest.fixture(scope="module")
def stylegan_path(tmp_path_factory):
    runs = tmp_path_factory.mktemp("style-runs")
    model = create_model("stylegan", resolve(get_recipe("stylegan-small").run).model, seed=0)
    with torch.no_grad():  # a w_avg off zero and noise that shows, as training leaves them
        model.inference_generator.w_avg.copy_(model.mapping(model.sample_latent(256)).mean(0))
        for layer in model.inference_generator.synthesis.layers:
            layer.noise_strength.fill_(0.3)
    return save_checkpoint(runs / "tiny-stylegan", model, card={"name": "tiny-stylegan", "dataset": {"name": "mnist"}})


@pytest.fixture
def page(stylegan_path, monkeypatch):
    monkeypatch.setenv("AAE_RUNS_DIR", str(stylegan_path.parent))

    def run(**state):
        return open_page("style_space", stylegan_path, **state)
    return run


def cells(strip: np.ndarray) -> list[np.ndarray]:
    return [strip[:, 3 * 2 + i * CELL: 3 * 2 + i * CELL + 3 * 28] for i in range(strip.shape[1] // CELL)]


def test_paths_in_z_and_w_share_their_ends_and_differ_between(page, one_torch_thread):
    at = page()
    z_strip, w_strip = at.session_state["style_z_strip"], at.session_state["style_w_strip"]
    assert z_strip.shape == w_strip.shape == (CELL + 6, 9 * CELL + 6)
    z_cells, w_cells = cells(z_strip), cells(w_strip)
    assert len(z_cells) == 9
    assert np.abs(z_cells[0].astype(int) - w_cells[0]).max() <= 1  # both start at digit A ...
    assert np.abs(z_cells[-1].astype(int) - w_cells[-1]).max() <= 1  # ... and end at digit B
    assert np.abs(z_cells[4].astype(int) - w_cells[4]).mean() > 0.5  # the middles take different routes
    assert np.abs(z_cells[0].astype(int) - z_cells[-1]).mean() > 1  # A and B are different digits
    grid = at.session_state["style_mix_grid"]
    assert grid.shape == (5 * CELL + 6, 7 * CELL + 6)  # 4 row sources and 6 column sources, plus the sources
    assert [s.label for s in at.selectbox if s.key == "style_crossover"]


def test_truncation_to_zero_makes_every_step_the_average_digit(page, one_torch_thread):
    at = page(style_psi=0.0)
    w_cells = cells(at.session_state["style_w_strip"])
    assert all(np.abs(c.astype(int) - w_cells[0]).max() <= 1 for c in w_cells)
    mix = at.session_state["style_mix_grid"]
    assert np.abs(mix[CELL:2 * CELL].astype(int) - mix[2 * CELL:3 * CELL]).max() <= 1  # all rows alike


def test_redrawing_the_noise_changes_the_draws(page, one_torch_thread):
    at = page()
    before = at.session_state["style_noise"].redraws
    next(b for b in at.button if b.key == "style_redraw").click().run()
    assert not at.exception
    after = at.session_state["style_noise"].redraws
    assert at.session_state["style_noise_seed"] == 1 and not torch.equal(before, after)


def test_the_seed_boxes_name_what_the_model_draws(page, stylegan_path, one_torch_thread):
    """Digits for an MNIST StyleGAN; images for one trained on Fashion-MNIST's clothes."""
    from aae.core.checkpoints import load_checkpoint

    assert [n.label for n in page().number_input][:2] == ["Seed of digit A", "Seed of digit B"]
    fashion = save_checkpoint(stylegan_path.parent / "tiny-fashion-stylegan", load_checkpoint(stylegan_path).model,
                              card={"name": "tiny-fashion-stylegan", "dataset": {"name": "fashion-mnist"}})
    at = open_page("style_space", fashion)
    assert not at.exception and [n.label for n in at.number_input][:2] == ["Seed of image A", "Seed of image B"]
