"""AppTest of views/translate.py on a tiny CycleGAN: the grid of test images, translations and round trips; an
uploaded digit translated and read; the class-preservation figures and where translation fails, from the card."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from page_runner import run_page
from PIL import Image

from aae.core.checkpoints import load_checkpoint, save_checkpoint, update_card


@pytest.fixture(scope="module")
def tiny_cyclegan(data_dir, one_torch_thread):
    """A CycleGAN of tiny generators, one epoch on 200 MNIST images, measured on 300 test images of each way."""
    from aae.core.data import load_dataset
    from aae.core.metrics.translation import translation_metrics
    from aae.core.models.cyclegan import CycleGANConfig
    from aae.core.training import TrainConfig, create_model, train

    runs = Path(os.environ.get("AAE_RUNS_DIR") or tempfile.mkdtemp(prefix="translate-runs-"))
    os.environ["AAE_RUNS_DIR"] = str(runs)
    os.environ.setdefault("AAE_DATA_DIR", str(data_dir))
    splits = load_dataset("mnist", data_dir=data_dir, val_size=100, train_limit=200)
    config = CycleGANConfig(channels=4, residual_blocks=1, disc_channels=4)
    result = train(create_model("cyclegan", config, seed=0), splits, TrainConfig(epochs=1, batch_size=50,
                                                                                  sample_every=0))
    path = save_checkpoint(runs / "tiny-cyclegan", result.model, card={"dataset": {"name": "mnist"},
                                                                       "training": {"seed": 0}})
    update_card(path, {"metrics": translation_metrics(result.model, data_dir=data_dir, limit=300)})
    return path


def digit_png(digit: np.ndarray) -> bytes:
    """A digit as dark ink on light paper, enlarged, as a scan would show it."""
    ink = Image.fromarray((255 - digit * 255).round().astype(np.uint8)).resize((196, 196))
    buffer = io.BytesIO()
    ink.save(buffer, format="PNG")
    return buffer.getvalue()


def test_translate_page_shows_the_grid_the_figures_and_where_translation_fails(tiny_cyclegan):
    at = run_page("translate", translate_model_path=str(tiny_cyclegan), translate_direction="ba")
    assert not at.error
    grid = at.session_state["translate_grid"]
    assert grid.dtype == np.uint8 and grid.ndim == 2 and grid.std() > 10  # three rows of ten digits, not blank
    figures = at.session_state["translate_figures"]
    card = load_checkpoint(tiny_cyclegan).card["metrics"]
    assert figures["class_preservation_ba"] == card["class_preservation_ba"]
    assert set(figures) >= {"class_preservation_ba", "class_preservation_untranslated_ba", "cycle_error_ba"}
    fails, confusion = (table.value for table in at.dataframe)
    assert list(fails.columns) == ["source", "read as", "images", "share of the class"]
    assert (fails["source"] != fails["read as"]).all() and len(fails) <= 5
    assert confusion.shape == (10, 10) and confusion.to_numpy().sum() == 300  # the 300 test digits, each read once
    for row in fails.itertuples():  # each mistake shown is its cell of the confusion table
        assert confusion.loc[row.source, row[2]] == row.images
    assert "8×8 digits → MNIST" in [s.value for s in at.subheader]
    margin = 100 * (card["class_preservation_ba"] - card["class_preservation_untranslated_ba"])
    (caption,) = [c.value for c in at.caption if c.value.startswith("Translating adds")]
    assert f"**{margin:+.1f} points**" in caption and "(300 images; this model, trained with seed 0)" in caption


def test_mnist_to_8x8_shows_the_second_readers_figure_beside_the_classifiers(tiny_cyclegan):
    """Into the 8×8 digits, the page shows the class kept as the SVM on the 8×8 grid reads it, from the card."""
    at = run_page("translate", translate_model_path=str(tiny_cyclegan), translate_direction="ab")
    assert not at.error
    figures = at.session_state["translate_figures"]
    card = load_checkpoint(tiny_cyclegan).card["metrics"]
    assert figures["class_preservation_pixels_ab"] == card["class_preservation_pixels_ab"]
    assert "class kept (SVM) ↑" in [m.label for m in at.metric]


def test_an_uploaded_digit_is_brought_into_the_source_domain_and_translated(tiny_cyclegan):
    from aae.core.domains import load_digits8

    digit = load_digits8().val_x[0, 0].numpy()  # an 8×8 digit as MNIST-form ink
    at = run_page("translate", translate_model_path=str(tiny_cyclegan), translate_direction="ba",
                  translate_upload_bytes=digit_png(digit))
    assert not at.error
    result = at.session_state["translate_result"]
    assert result is not None and result["read"] in [str(i) for i in range(10)]
    for key in ("input", "translated", "round_trip"):
        image = result[key]
        assert image.shape == (28, 28) and torch.isfinite(image).all() and 0 <= image.min() and image.max() <= 1
    assert result["input"][:4].abs().max() == 0 and result["input"].max() > 0.5  # in the 8×8 digits' 20×20 box
    assert np.corrcoef(result["input"].numpy().ravel(), digit.ravel())[0, 1] > 0.6  # and still that digit


def test_grid_labels_draw_the_times_sign_not_a_missing_glyph_box():
    """The row label "8×8 digits": the font the grids are labelled with has a × (Pillow's own font draws a box)."""
    import numpy as np

    from ui.plots import label_font, label_grid

    font = label_font(20)
    times, missing = font.getmask("×"), font.getmask("\ue000")  # a private-use character: the missing-glyph box
    assert times.getbbox() != missing.getbbox() or bytes(times) != bytes(missing)
    grid = np.zeros((30 * 2, 30 * 3), dtype=np.uint8)
    shown = label_grid(grid, scale=1, rows=["8×8 digits", "MNIST"], cols=[])
    assert shown.shape[0] == grid.shape[0] and shown.shape[1] > grid.shape[1]  # a left margin holds the labels
