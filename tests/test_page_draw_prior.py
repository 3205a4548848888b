"""The Draw a prior page: pick a shape, train a 2-D AAE (and a VAE beside it) against it, watch frames of q(z)
arrive, and find the saved model with its drawn prior; a blank drawing is refused with a message."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from page_runner import run_page, values, with_estimate

from aae.core.checkpoints import load_checkpoint


def train_until_done(at) -> None:
    """Press Start, rerun until the runs have finished (no exception on the way), then draw the finished page."""
    at.button(key="draw_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    deadline = time.monotonic() + 120
    while at.session_state["draw_status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception
    assert at.session_state["draw_status"] == "done", [e.value for e in at.error]
    at.run()


def figure(at, key: str) -> dict:
    """The plotly figure of the chart `key`, as the browser gets it."""
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def tint_of(fig: dict) -> np.ndarray:
    """The digit each cell of the map is tinted as (NaN: untinted), indexed [y, x] from the bottom."""
    layer = next(t for t in fig["data"] if t["type"] == "heatmap" and t.get("name") == "the prior's parts")
    return values(layer["z"]).astype(float).reshape(len(values(layer["y"])), len(values(layer["x"])))


def legend_names(fig: dict) -> list[str]:
    return [t["name"] for t in fig["data"] if t["type"] != "heatmap" and t.get("showlegend", True)]


def cell_digits(fig: dict, points: np.ndarray) -> np.ndarray:
    """The tint under each point (N, 2) of the plane."""
    layer = next(t for t in fig["data"] if t["type"] == "heatmap" and t.get("name") == "the prior's parts")
    xs, ys = values(layer["x"]), values(layer["y"])
    cols = np.abs(points[:, :1] - xs[None]).argmin(1)
    rows = np.abs(points[:, 1:] - ys[None]).argmin(1)
    return tint_of(fig)[rows, cols]


@pytest.fixture
def page(tiny_models, data_dir):
    return run_page("draw_prior")


def test_an_example_shape_trains_an_aae_and_a_vae_with_frames_and_saves_them(page):
    at = page
    at.radio(key="draw_source").set_value("an example").run()
    at.selectbox(key="draw_example").set_value("ring").run()
    assert any(c.key == "draw_preview" for c in at.get("plotly_chart"))  # the prior is drawn before training
    at.number_input(key="draw_epochs").set_value(1)
    at.select_slider(key="draw_images").set_value(2_000)
    with_estimate(at.select_slider(key="draw_hidden").set_value(64).run())
    assert any("Estimated time" in c.value for c in at.caption)
    train_until_done(at)  # then the finished page: both runs, their frame sliders, the GIF
    saved = {s.value.split("**")[1] for s in at.success}
    assert len(saved) == 2, ([e.value for e in at.error], [i.value for i in at.info], [c.value for c in at.caption])
    assert {n for n in saved if n.endswith("-aae")} and {n for n in saved if n.endswith("-vae")}
    aae = load_checkpoint(Path(os.environ["AAE_RUNS_DIR"]) / next(n for n in saved if n.endswith("-aae")))
    assert aae.model.config.prior.name == "image" and aae.model.latent_dim == 2  # the drawing is in the checkpoint
    sliders = [s for s in at.slider if s.key.startswith("draw_frame_")]
    # frame 1 (the start) and 6 an epoch: scrub back, counted from 1 as the caption counts
    assert len(sliders) == 2 and all(s.min == 1 and s.max >= 3 for s in sliders)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.endswith("GIF") for label in labels) and any(label.endswith("MP4") for label in labels), labels
    assert at.session_state["draw_run"]["mp4"][4:8] == b"ftyp"  # the same frames as an MP4
    manifolds = [i for i in at.get("image") if "decoder over the prior" in str(i.proto)]
    assert len(manifolds) == 2, [str(i.proto)[:300] for i in at.get("image")]  # each run's manifold under its map


def test_a_coloured_prior_is_drawn_in_its_colours_with_a_legend_and_no_single_d_z(page):
    at = page
    at.radio(key="draw_source").set_value("an example").run()
    at.selectbox(key="draw_example").set_value("ring").run()
    assert not at.checkbox(key="draw_show_disc").disabled  # one D(z) over the plane: offered
    assert not figure(at, "draw_preview")["layout"]["showlegend"]  # one colour of ink: nothing to tell apart
    at.selectbox(key="draw_example").set_value("ten coloured slices").run()
    # A label-regularised AAE's D judges a code with its digit: no one map to show, and the page says why.
    box = at.checkbox(key="draw_show_disc")
    assert box.disabled and "digit" in box.help
    preview = figure(at, "draw_preview")
    assert preview["layout"]["showlegend"] and legend_names(preview) == [str(d) for d in range(10)]
    from aae.core.prior_images import example_drawing, image_prior_config
    from aae.core.priors import make_prior

    prior = make_prior(image_prior_config(example_drawing("ten coloured slices")), 2)
    for digit in range(10):
        draws = prior.sample(200, labels=torch.full((200,), digit), generator=torch.Generator().manual_seed(1))
        assert np.mean(cell_digits(preview, draws.numpy()) == digit) > 0.9, digit


def test_a_blank_upload_is_refused_and_nothing_can_start(page):
    at = page
    at.radio(key="draw_source").set_value("a drawing").run()
    assert not at.exception
    # No stroke yet: the page asks for one (or says the canvas is missing) and Train is off.
    assert at.info and at.button(key="draw_start").disabled is True


def test_the_coloured_slices_train_a_label_regularised_aae(page):
    at = page
    at.radio(key="draw_source").set_value("an example").run()
    at.selectbox(key="draw_example").set_value("ten coloured slices").run()
    assert any("Coloured ink: digits 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in c.value for c in at.caption)
    at.number_input(key="draw_epochs").set_value(1)
    at.select_slider(key="draw_images").set_value(2_000)
    at.select_slider(key="draw_hidden").set_value(64)
    at.checkbox(key="draw_with_vae").uncheck().run()
    train_until_done(at)
    saved = [s.value.split("**")[1] for s in at.success]
    model = load_checkpoint(Path(os.environ["AAE_RUNS_DIR"]) / saved[0]).model
    assert model.config.label_regularized and model.config.prior.regions is not None  # each digit its slice
    # The frames draw the prior in the digits' colours, with a legend of which digit has which colour: each
    # digit's prior draws lie on its own colour.
    frame = figure(at, "draw_plot_aae_done")
    assert frame["layout"]["showlegend"] and legend_names(frame) == [str(d) for d in range(10)]
    for digit in (0, 3, 7):
        draws = model.sample_latent(200, labels=torch.full((200,), digit)).numpy()
        assert np.mean(cell_digits(frame, draws) == digit) > 0.9
    three = model.sample_latent(300, labels=torch.full((300,), 3))
    seven = model.sample_latent(300, labels=torch.full((300,), 7))
    assert (three.mean(0) - seven.mean(0)).norm() > 2  # opposite slices of the ring


def anti_aliased_stroke(ink=(0, 0, 0), side=280):
    """A thick stroke drawn at 4× and scaled down, as a browser canvas draws it: its edges are every grey
    (or every tint of `ink`) between the ink and the white paper."""
    from PIL import Image, ImageDraw

    big = Image.new("RGB", (4 * side, 4 * side), "white")
    ImageDraw.Draw(big).line([(200, 300), (600, 800), (900, 400)], fill=ink, width=120, joint="curve")
    return big.resize((side, side), Image.LANCZOS)


@pytest.mark.parametrize("ink", [(0, 0, 0), (90, 90, 90), (180, 180, 180)], ids=["black", "dark grey", "grey"])
def test_black_or_grey_ink_with_soft_edges_is_one_unlabelled_prior(ink):
    from aae.core.prior_images import image_prior_config

    config = image_prior_config(anti_aliased_stroke(ink))
    assert config.regions is None  # no digit's region: not "coloured ink: digit 9"


@pytest.mark.parametrize("digit", range(10))
def test_soft_edged_coloured_ink_gives_its_digit_only(digit):
    from PIL import ImageColor

    from aae.core.prior_images import DIGIT_COLOURS, image_prior_config
    from aae.core.priors import make_prior

    prior = make_prior(image_prior_config(anti_aliased_stroke(ImageColor.getrgb(DIGIT_COLOURS[digit]))), 2)
    assert prior.supports_labels and prior.drawn_digits() == [digit]  # its soft edges are no other digit's


def test_a_single_dot_and_a_file_that_is_not_a_picture_get_a_plain_message():
    from ui.canvas import readable_image, single_dot

    dot = [{"type": "path", "width": 0, "height": 0, "scaleX": 1, "scaleY": 1}]
    stroke = [{"type": "path", "width": 120, "height": 40, "scaleX": 1, "scaleY": 1}]
    assert single_dot(dot, 30) and not single_dot(stroke, 30) and not single_dot(dot + stroke, 30)
    assert not readable_image(b"not an image") and not readable_image(b"")
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("L", (8, 8), 255).save(png, format="PNG")
    assert readable_image(png.getvalue())
