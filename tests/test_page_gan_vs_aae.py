"""The GAN vs AAE page: a tiny duel runs to the end, shows both grids and a history, and saves both models."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from page_runner import page_app, with_estimate
from streamlit.testing.v1 import AppTest

from aae.core import catalog, spec
from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.metrics import coverage_trust
from aae.core.models import ClassifierConfig
from aae.core.training import TrainConfig, create_model, train
from aae.lab.recipes import get_recipe, recipes_for

ROOT = Path(__file__).resolve().parents[1]


def wait_for_status(at: AppTest, statuses: tuple[str, ...], timeout: float = 60.0) -> None:
    # st.fragment(run_every=...) does not rerun by itself in AppTest: poll with full runs.
    deadline = time.monotonic() + timeout
    while at.session_state["duel_status"] not in statuses and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
        assert not at.exception
    assert at.session_state["duel_status"] in statuses


def tiny_duel(at: AppTest, *, epochs: int = 1) -> None:
    """The smallest settings the widgets allow: 200 images, 2 steps per epoch, a frame every step."""
    at.number_input(key="duel_epochs").set_value(epochs)
    at.number_input(key="duel_batch_size").set_value(100)
    at.number_input(key="duel_latent_dim").set_value(2)
    at.number_input(key="duel_hidden").set_value(16)
    at.number_input(key="duel_noise_dim").set_value(2)
    at.number_input(key="duel_frame_every").set_value(1)
    at.number_input(key="duel_limit").set_value(200)
    at.selectbox(key="duel_gan_recipe_gan").set_value("gan-small")


def test_a_tiny_duel_shows_both_grids_a_history_and_saves_both(tiny_models, data_dir, small_splits, tmp_path,
                                                               monkeypatch):
    from ui import common

    # A tiny classifier stands in for the shipped one, so coverage is shown whatever checkpoints/ holds.
    model = create_model("classifier", ClassifierConfig(channels=4, feature_dim=16), seed=0)
    result = train(model, small_splits, TrainConfig(epochs=1, device="cpu", sample_every=0))
    monkeypatch.setitem(common.CLASSIFIERS, "mnist", save_checkpoint(tmp_path / "classifier", result.model))

    at = page_app("gan_vs_aae").run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "duel_save"]  # nothing to save before a run
    tiny_duel(at)
    with_estimate(at.run())
    # Start says how long the settings take, from throughput measured on this device
    assert at.session_state["duel_estimate"] > 0 and "(about" in at.button(key="duel_start").label
    at.button(key="duel_start").click().run()
    assert not at.exception
    wait_for_status(at, ("done",))

    images = at.get("image")  # the two grids side by side
    assert [i.proto.imgs[0].caption for i in images] == ["GAN samples at step 2", "AAE samples at step 2"]
    shown = at.session_state["duel_shown"]
    assert shown["step"] == 2  # the newest frame
    assert shown["gan"].dtype == np.uint8 and shown["gan"].shape == shown["aae"].shape
    assert [s.value for s in at.subheader][:2] == ["GAN", "AAE"]
    assert at.button(key="duel_start").disabled is False and at.button(key="duel_pause").disabled is True

    # Scrolling back shows the earlier frame's grids.
    slider = at.slider(key="duel_frame")
    assert (slider.min, slider.max, slider.value) == (1, 2, 2)
    slider.set_value(1).run()
    assert at.session_state["duel_shown"]["step"] == 1
    assert not np.array_equal(at.session_state["duel_shown"]["aae"], shown["aae"])
    assert at.get("image")[0].proto.imgs[0].caption == "GAN samples at step 1"

    # Coverage per model: classes covered out of 10, normalised entropy, and a bar chart of class shares —
    # shown only once the samples look like digits (noise gets classes too): the classifier is confident and
    # their features are near real digits'.
    trusted = [m for m in ("gan", "aae") if coverage_trust({
        "confidence": at.session_state[f"duel_coverage_{m}_confidence"],
        "frechet": at.session_state[f"duel_coverage_{m}_frechet"]})[0]]
    assert all(at.session_state[f"duel_coverage_{m}_frechet"] > 0 for m in ("gan", "aae"))
    for m in ("gan", "aae"):
        assert at.session_state[f"duel_coverage_hidden_{m}"] == (m not in trusted)
    hidden_notes = [c.value for c in at.caption if "coverage is hidden" in c.value]
    assert len(hidden_notes) == 2 - len(trusted)
    metrics = {(m.label, m.value) for m in at.metric}
    assert [m.label for m in at.metric] == ["Classes covered", "Normalised entropy"] * len(trusted)
    assert all(value.endswith("/10") for label, value in metrics if label == "Classes covered")
    assert all(0 <= float(value) <= 1 for label, value in metrics if label == "Normalised entropy")
    assert not any("ONLY=classifier" in i.value for i in at.info)

    # Save both: two sibling checkpoints that the model picker lists.
    at.text_input(key="duel_name").set_value("page-duel").run()
    assert at.button(key="duel_save").disabled is False
    at.button(key="duel_save").click().run()
    assert not at.exception
    runs = Path(os.environ["AAE_RUNS_DIR"])
    gan, aae = load_checkpoint(runs / "page-duel-gan"), load_checkpoint(runs / "page-duel-aae")
    assert gan.model.kind == "gan" and gan.model.latent_dim == 2
    assert aae.model.kind == "aae" and aae.model.latent_dim == 2 and aae.card["training"]["steps"] == 2
    assert any("page-duel-gan" in s.value and "page-duel-aae" in s.value for s in at.success)
    from ui import common

    listed = {entry.name for entry in common.list_models()}
    assert {"page-duel-gan", "page-duel-aae"} <= listed
    # The name field moved on; the old name is now taken unless overwriting.
    assert at.session_state["duel_name"] != "page-duel"
    at.text_input(key="duel_name").set_value("page-duel").run()
    assert any("already exists" in e.value for e in at.error) and at.button(key="duel_save").disabled is True


def test_pause_resume_and_stop(tiny_models, data_dir):
    at = page_app("gan_vs_aae").run()
    tiny_duel(at, epochs=200)  # 400 steps: long enough to pause in the middle
    at.button(key="duel_start").click().run()
    assert at.session_state["duel_status"] == "running"
    assert at.button(key="duel_save").disabled is True  # not while it trains
    at.button(key="duel_pause").click().run()
    wait_for_status(at, ("paused",))  # the worker process says so once it has stopped between two steps
    progress = at.get("progress")[0].proto.text
    assert progress.startswith("Paused")
    time.sleep(0.5)
    at.run()
    assert at.get("progress")[0].proto.text.split(" · ")[2] == progress.split(" · ")[2]  # the step stands still
    assert at.button(key="duel_resume").disabled is False and at.button(key="duel_save").disabled is False
    at.button(key="duel_resume").click().run()
    assert at.session_state["duel_status"] == "running"
    at.button(key="duel_stop").click().run()
    wait_for_status(at, ("cancelled",), timeout=20)
    assert at.button(key="duel_start").disabled is False


def test_classifier_missing_says_how_to_train_it(tiny_models, data_dir, monkeypatch, tmp_path):
    from ui import common

    if (common.CLASSIFIERS["mnist"] / "card.json").is_file():
        monkeypatch.setitem(common.CLASSIFIERS, "mnist", tmp_path / "no-classifier")
    at = page_app("gan_vs_aae").run()
    tiny_duel(at)
    at.button(key="duel_start").click().run()
    wait_for_status(at, ("done",))
    assert any("scripts/train_shipped.sh" in i.value and "ONLY=classifier" in i.value for i in at.info)
    assert not at.get("metric")


def _duel_saved_gan(name: str, choose) -> dict:
    """Run a one-epoch tiny duel with `choose(at)` applied to the settings, save it; the saved GAN's config."""
    at = page_app("gan_vs_aae").run()
    tiny_duel(at, epochs=1)
    choose(at)
    at.button(key="duel_start").click().run()
    assert not at.exception
    wait_for_status(at, ("done",))
    at.text_input(key="duel_name").set_value(name).run()
    at.button(key="duel_save").click().run()
    assert not at.exception
    gan = load_checkpoint(Path(os.environ["AAE_RUNS_DIR"]) / f"{name}-gan")
    assert gan.model.sample(4).shape == (4, 1, 28, 28)
    return gan.card["config"]


def test_a_dcgan_style_duel_trains_and_saves_a_conv_generator(tiny_models, data_dir):
    config = _duel_saved_gan("page-dcgan", lambda at: at.selectbox(key="duel_gan_recipe_gan").set_value("dcgan"))
    assert config["generator"] == "conv"
    assert config["generator_channels"] == spec.resolve(get_recipe("dcgan").run).model.generator_channels


def test_feature_matching_reaches_the_trained_gan(tiny_models, data_dir):
    """The GAN's default trains with the shipped gan's recipe (feature matching, plain D), which its saved config
    carries; the gan-plain recipe is the GAN that collapses."""
    fresh = page_app("gan_vs_aae").run()
    assert fresh.selectbox(key="duel_gan_recipe_gan").value is None  # the seeds' GAN on every device: the small
    # one's samples were never digits within the page's default run (bench/duel_digits.py)
    config = _duel_saved_gan("page-fm", lambda at: at.selectbox(key="duel_gan_recipe_gan").set_value(None))
    assert config["feature_matching"] > 0 and config["spectral_norm"] is False
    assert config["generator_hidden"] == [256, 512, 1024]
    plain = _duel_saved_gan("page-plain", lambda at: at.selectbox(key="duel_gan_recipe_gan").set_value("gan-plain"))
    assert plain["feature_matching"] == 0 and plain["spectral_norm"] is True


def test_the_recorded_duel_can_be_scrubbed_without_training(tiny_models):
    """docs/recorded/duel.npz (scripts/record_duel.py) is shown before any run: its frames at once."""
    at = page_app("gan_vs_aae").run()
    assert not at.exception
    assert any("A recorded run" in e.label for e in at.expander)
    slider = at.slider(key="duel_recorded_frame")
    assert slider.value == slider.max >= 2 and at.session_state["duel_recorded_shown"] == 1000
    grids = [i.proto.imgs[0].caption for i in at.get("image")]
    assert grids[0].startswith("GAN at step 1000") and grids[1].startswith("AAE at step 1000")
    first = json.loads((ROOT / "docs" / "recorded" / "duel.json").read_text())["settings"]["frame_every"]
    slider.set_value(1).run()
    assert at.session_state["duel_recorded_shown"] == first < 1000
    assert [i.proto.imgs[0].caption for i in at.get("image")][0].startswith(f"GAN at step {first} ")


def test_each_generators_recipes_are_offered_and_set_its_networks(tiny_models):
    """The generator's picker lists the recipes of the chosen model; one chosen, its summary shows and the page
    builds that recipe's generator (no error)."""
    at = page_app("gan_vs_aae").run()
    for kind in catalog.kinds(generator_only=True):
        at.selectbox(key="duel_gan_kind").set_value(kind).run()
        picker = at.selectbox(key=f"duel_gan_recipe_{kind}")
        assert list(picker.options[1:]) == [r.name for r in recipes_for(kind)]
        if not recipes_for(kind):
            continue
        recipe = recipes_for(kind)[0]
        picker.set_value(recipe.name).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert any(c.value == recipe.summary for c in at.caption)
