"""AppTest of views/prior_samples.py on the tiny models: samples, the scatter, the manifold, and what changes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from page_runner import open_page as run_page
from page_runner import page_app
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(path: Path) -> AppTest:
    return run_page("prior_samples", path)


def scatter(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def trace_names(at: AppTest) -> list[str]:
    return [trace.get("name") for trace in scatter(at)["data"]]


def q_z_traces(at: AppTest) -> list[dict]:
    """The encoded test set's traces on the scatter: one per digit."""
    return [trace for trace in scatter(at)["data"] if trace.get("legendgroup") == "q"]


def test_2d_aae_samples_scatter_and_manifold(tiny_models, data_dir):
    at = open_page(tiny_models["tiny-aae-2d-mog10"])
    grid = at.session_state["samples_grid"]
    # 100 samples, 10 per row, 28 px + 2 px padding, upscaled 3×
    assert grid.dtype == np.uint8 and grid.shape == (3 * (10 * 30 + 2), 3 * (10 * 30 + 2))
    assert grid.std() > 0  # not a blank picture
    names = trace_names(at)
    assert "prior samples" in names
    assert [t["name"] for t in q_z_traces(at)] == [str(d) for d in range(10)]  # encoder + data: q(z) drawn
    assert at.session_state["prior_points"].shape == (100, 2)
    assert any("each column is one class" in c.value for c in at.caption)  # label-regularised mixture
    plane = at.session_state["manifold_grid"]
    assert plane is not None and plane.shape == (2 * (20 * 30 + 2),) * 2
    assert not at.warning  # its own prior: no off-prior warning

    # "New samples" picks another seed, and the grid changes with it
    seed = at.number_input(key="samples_seed").value
    at.button(key="new_samples").click().run()
    assert not at.exception
    assert at.number_input(key="samples_seed").value != seed
    assert not np.array_equal(at.session_state["samples_grid"], grid)

    # so does typing a seed
    grid = at.session_state["samples_grid"]
    at.number_input(key="samples_seed").set_value(7).run()
    assert not np.array_equal(at.session_state["samples_grid"], grid)

    # another prior: other points on the scatter, and a warning that this is off the model's prior
    points, spec = at.session_state["prior_points"], scatter(at)
    assert "mog10:1" not in at.selectbox(key="prior_choice").options  # its own prior is offered once only
    at.selectbox(key="prior_choice").set_value("swissroll:1").run()
    assert not at.exception
    assert not np.allclose(at.session_state["prior_points"], points)
    assert scatter(at) != spec
    assert any("off" in w.value and "prior" in w.value for w in at.warning)

    # the manifold follows its slider
    at.slider(key="_manifold_n_widget").set_value(10).run()
    assert at.session_state["manifold_grid"].shape == (2 * (10 * 30 + 2),) * 2


def test_8d_vae_has_no_manifold_and_no_2d_only_priors(tiny_models, data_dir):
    at = open_page(tiny_models["tiny-vae-8d"])
    assert at.session_state["manifold_grid"] is None
    assert any("needs a 2-D latent space" in c.value for c in at.caption)
    assert any("first two dimensions" in c.value for c in at.caption)
    options = at.selectbox(key="prior_choice").options
    assert not any("mixture" in o or "swiss" in o for o in options)  # the 2-D priors do not exist in 8-D
    assert len(q_z_traces(at)) == 10

    # more samples: 20 per row so columns stay classes
    at.number_input(key="n_samples").set_value(200).run()
    assert not at.exception
    assert at.session_state["samples_grid"].shape == (2 * (10 * 30 + 2), 2 * (20 * 30 + 2))
    assert at.session_state["prior_points"].shape == (200, 2)


def test_gan_samples_without_encoder(tiny_models):
    at = open_page(tiny_models["tiny-gan"])
    names = trace_names(at)
    assert "prior samples" in names and not q_z_traces(at)
    assert any("no encoder" in c.value for c in at.caption)
    assert at.session_state["manifold_grid"] is None
    points, grid = at.session_state["prior_points"], at.session_state["samples_grid"]
    at.selectbox(key="prior_choice").set_value("uniform:1").run()
    assert not at.exception
    assert not np.allclose(at.session_state["prior_points"], points)
    assert np.abs(at.session_state["prior_points"]).max() <= 3 ** 0.5 + 1e-6  # uniform on the cube, σ = 1
    assert not np.array_equal(at.session_state["samples_grid"], grid)


def test_the_prior_label_follows_the_model(tiny_models):
    """Switching models shows the new model's own prior in the box, never the previous one's name."""
    at = open_page(tiny_models["tiny-aae-2d-mog10"])
    shown = at.selectbox(key="prior_choice")
    assert "own" in shown.value and "mixture" in shown.format_func(shown.value)
    before = shown.value
    at.selectbox(key="_model_path_widget").set_value(str(tiny_models["tiny-vae-8d"])).run()  # the sidebar picker
    assert not at.exception
    shown = at.selectbox(key="prior_choice")
    label = shown.format_func(shown.value)
    assert label.startswith("the model's own") and "mixture" not in label and "N(0" in label
    # The option itself names the prior, so the browser's box (which keeps an option's old text while its
    # value stays the same) gets a new option, not the old mixture's label.
    assert shown.value != before


def test_a_shared_link_opens_the_model_prior_and_seed(tiny_models):

    at = page_app("prior_samples", timeout=60)
    at.query_params.update({"model": "tiny-vae-8d", "seed": "7", "n": "50", "prior": "uniform:1"})
    at.run()
    assert not at.exception
    assert at.session_state["model_path"] == str(tiny_models["tiny-vae-8d"])
    assert (at.session_state["samples_seed"], at.session_state["n_samples"]) == (7, 50)
    assert at.selectbox(key="prior_choice").value == "uniform:1"
    assert at.session_state["prior_points"].shape == (50, 2)
    at.number_input(key="samples_seed").set_value(9).run()
    assert at.query_params["seed"] == "9" and at.query_params["model"] == "tiny-vae-8d"


def test_a_link_naming_a_model_opens_without_a_widget_state_warning(tiny_models):
    """The sidebar picker takes the link's model through Session State only: Streamlit warns when a widget also
    gets a default, and that warning filled the server's log on every shared link."""
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("streamlit.elements.lib.policies")
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        at = page_app("prior_samples", timeout=60)
        at.query_params["model"] = "tiny-vae-2d"
        at.run()
        assert not at.exception
        assert at.session_state["model_path"] == str(tiny_models["tiny-vae-2d"])
        at.run()  # and a later run keeps the choice
        assert at.session_state["model_path"] == str(tiny_models["tiny-vae-2d"])
    finally:
        logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "Session State" in r.getMessage()]


def test_the_grid_size_slider_shows_the_grid_drawn_after_models_without_a_plane(tiny_models):
    """8-D, then a GAN, then a 2-D model: the slider is gone for two runs and comes back showing the size the
    manifold is drawn at."""
    at = open_page(tiny_models["tiny-aae-2d-gaussian"])
    at.slider(key="_manifold_n_widget").set_value(14).run()
    for name in ("tiny-aae-8d", "tiny-gan", "tiny-aae-2d-mog10"):
        at.selectbox(key="_model_path_widget").set_value(str(tiny_models[name])).run()
        assert not at.exception
    side = at.session_state["manifold_grid"].shape[0] // 2  # scale 2
    n_drawn = (side - 2) // 30
    slider = at.slider(key="_manifold_n_widget")
    assert slider.value == n_drawn == 14  # the size chosen before, kept
    # What a browser shows for a slider it mounts afresh (it was gone for two runs): its default.
    assert list(slider.proto.default) == [n_drawn]


def test_a_link_with_bad_parameters_says_which_it_ignored_and_why(tiny_models):
    at = page_app("prior_samples", timeout=60)
    at.query_params.update({"model": "nosuchmodel", "seed": "abc", "n": "-5", "grid": "12"})
    at.run()
    assert not at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "`model=nosuchmodel` (no model of that name" in warned
    assert "`seed=abc` (not a whole number)" in warned
    assert "`n=-5` (not between 10 and 400)" in warned
    assert (at.session_state["samples_seed"], at.session_state["n_samples"]) == (0, 100)  # the usual values
    at.run()  # still said on the next run of this visit
    assert "`seed=abc`" in " ".join(w.value for w in at.warning)
    at.selectbox(key="_model_path_widget").set_value(str(tiny_models["tiny-aae-2d-gaussian"])).run()
    assert at.slider(key="_manifold_n_widget").value == 12  # the link's grid size
    assert at.query_params["grid"] == "12"
