"""The Train page: configure, start a background job, watch it to the end, find the model; bad input is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from page_runner import page_app, run_page, with_estimate
from streamlit.testing.v1 import AppTest

from aae.core import catalog, spec
from aae.core.checkpoints import load_checkpoint
from aae.lab.recipes import all_recipes, get_recipe
from ui.estimates import WAITING


@pytest.fixture
def page(tiny_models, data_dir):
    return run_page("train")


def configure_tiny(at: AppTest, name: str) -> None:
    if any(w.key == "train_hidden" for w in at.number_input):  # the GAN has its own sizes, no width field
        at.number_input(key="train_hidden").set_value(32)
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_limit").set_value(300)
    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_name").set_value(name)


def wait_until_done(at: AppTest, timeout: float = 60) -> None:
    """Poll the page (AppTest does not rerun fragments by itself) until the job is done; no error on the way."""
    deadline = time.monotonic() + timeout
    while at.session_state["train_status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception
        assert not at.error, [e.value for e in at.error]


def test_a_small_training_runs_to_the_end_and_is_saved(page, tiny_models):
    import os

    at = page
    assert at.button(key="train_start").disabled is False
    assert any("Training runs on" in c.value and ("CPU" in c.value or "GPU" in c.value) for c in at.caption)
    configure_tiny(at, "page-run")
    at.run()
    assert any(WAITING in c.value for c in at.caption) or "train_estimate" in at.session_state  # said, not blank
    with_estimate(at)
    assert at.session_state["train_estimate"] > 0 and "(about" in at.button(key="train_start").label
    at.button(key="train_start").click().run()
    assert not at.exception
    assert at.session_state["train_status"] in ("running", "done")
    wait_until_done(at)
    assert at.session_state["train_status"] == "done"

    saved = Path(os.environ["AAE_RUNS_DIR"]) / "page-run"
    checkpoint = load_checkpoint(saved)
    assert checkpoint.card["name"] == "page-run" and checkpoint.model.latent_dim == 2
    assert checkpoint.card["training"]["epochs"] == 1 and checkpoint.card["dataset"]["train_images"] == 300
    assert checkpoint.card["training"]["batch_size"] == 100  # the field left empty: the AAE's default
    assert checkpoint.card["training"]["regularization"] == "shared"  # likewise
    assert any("page-run" in s.value and str(saved) in s.value for s in at.success)
    assert at.session_state["model_path"] == str(saved)  # the sidebar picker now shows the new model
    assert at.session_state["train_preview"].dtype.name == "uint8"
    # A 2-D model: the live view of its codes over its prior (the last frame, at the end of training).
    assert any(getattr(c, "key", None) == "train_latent" for c in at.get("plotly_chart"))
    # Finished: a slider back through the frames, and the run as a GIF and an MP4.
    frames = at.slider(key="train_frame_page-run")
    assert frames.min == 1 and frames.value == frames.max >= 2  # counted from 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.endswith("GIF") for label in labels) and any(label.endswith("MP4") for label in labels)
    assert at.session_state["train_run"]["gif"][:6] in (b"GIF87a", b"GIF89a")
    last = at.get("plotly_chart")
    frames.set_value(1).run()  # the first frame: other codes on the map
    assert not at.exception
    first = [c for c in at.get("plotly_chart") if getattr(c, "key", None) == "train_latent"][0].proto.spec
    assert first != [c for c in last if getattr(c, "key", None) == "train_latent"][0].proto.spec
    assert at.session_state["train_name"] != "page-run"  # the name field moved on to a free name
    # The finished page no longer polls: no Cancel button, Start is enabled again.
    assert not [b for b in at.button if b.key == "train_cancel"]
    assert at.button(key="train_start").disabled is False

    # The same name again is refused unless "overwrite" is ticked.
    at.text_input(key="train_name").set_value("page-run").run()
    assert any("already exists" in e.value for e in at.error)
    assert at.button(key="train_start").disabled is True
    at.checkbox(key="train_overwrite").check().run()
    assert not at.error and at.button(key="train_start").disabled is False


def test_cancel_stops_the_job_and_saves_nothing(page, tiny_models):
    import os

    at = page
    configure_tiny(at, "page-cancelled")
    at.number_input(key="train_latent_dim").set_value(8)  # no frames of test digits: only the cancel matters
    at.number_input(key="train_epochs").set_value(500)
    at.button(key="train_start").click().run()
    assert at.session_state["train_status"] == "running"
    progress = at.get("progress")
    assert progress and "Epoch" in progress[0].proto.text
    assert at.button(key="train_start").disabled is True  # one job at a time
    at.button(key="train_cancel").click().run()
    deadline = time.monotonic() + 30
    while at.session_state["train_status"] != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    assert at.session_state["train_status"] == "cancelled", [e.value for e in at.error]
    assert any("nothing was saved" in i.value for i in at.info)
    assert not (Path(os.environ["AAE_RUNS_DIR"]) / "page-cancelled").exists()
    # Start again at once, with the same settings: no field has to be touched first.
    assert at.button(key="train_start").disabled is False, [e.value for e in at.error]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train_model": "vae", "train_prior": "mog10"}, "Gaussian prior"),
        ({"train_prior": "mog10", "train_latent_dim": 8}, "latent dimension of 2"),
        ({"train_label_regularized": True}, "mog10 or swissroll"),
        ({"train_name": "my model!"}, "letters, digits"),
        ({"train_batch_size": 500, "train_limit": 300}, "batch size"),
    ],
)
def test_invalid_settings_show_an_error_and_start_nothing(page, tiny_models, changes, message):
    import os

    at = page
    before = sorted(os.listdir(os.environ["AAE_RUNS_DIR"]))
    for key, value in changes.items():
        widget = next(w for w in [*at.selectbox, *at.number_input, *at.checkbox, *at.text_input] if w.key == key)
        widget.set_value(value)
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="train_start").disabled is True  # AppTest, like a browser, cannot click it
    assert at.session_state["train_status"] is None
    assert sorted(os.listdir(os.environ["AAE_RUNS_DIR"])) == before


def test_missing_data_says_how_to_provide_it_and_disables_start(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path / "empty"))
    at = page_app("train").run()
    assert not at.exception
    assert any("AAE_DATA_DIR" in i.value and "MNIST" in i.value for i in at.info)
    assert at.button(key="train_start").disabled is True


def test_the_batch_field_offers_the_chosen_kinds_default(page):
    at = page
    assert at.number_input(key="train_batch_size").value is None
    assert at.number_input(key="train_batch_size").proto.placeholder == "default: 100"
    at.selectbox(key="train_model").set_value("vae").run()
    assert at.number_input(key="train_batch_size").proto.placeholder == "default: 50"
    assert "default: 0.002" in at.number_input(key="train_lr").proto.placeholder


def test_the_regularisation_choice_names_the_kinds_default_and_reaches_the_config(page):
    at = page
    select = at.selectbox(key="train_engine_regularization")
    assert select.value is None and "(default: shared)" in select.help  # the AAE's
    select.set_value("joint").run()
    assert not at.exception and 'regularization = "joint"' in at.code[0].value.splitlines()
    at.selectbox(key="train_model").set_value("vae").run()
    assert "(default: joint)" in at.selectbox(key="train_engine_regularization").help
    at.selectbox(key="train_engine_regularization").set_value("shared").run()  # the VAE has no discriminator
    with_estimate(at)  # the measurement's trainer finds it
    assert not at.exception
    assert any("shared regularisation is the AAE's" in e.value for e in at.error)
    assert at.button(key="train_start").disabled


@pytest.mark.parametrize("kind", ["semi", "cluster"])
def test_the_papers_other_aaes_train_from_the_page(page, tiny_models, kind):
    """Semi-supervised (100 labels) and clustering (5 clusters) AAEs train in the background and are saved."""
    import os

    at = page
    at.selectbox(key="train_model").set_value(kind).run()
    configure_tiny(at, f"page-{kind}")
    if kind == "semi":
        at.text_input(key="train_labels_per_class").set_value("10")
    else:
        at.number_input(key="train_n_categories").set_value(5)
    at.run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="train_start").click().run()
    wait_until_done(at)
    checkpoint = load_checkpoint(Path(os.environ["AAE_RUNS_DIR"]) / f"page-{kind}")
    assert checkpoint.card["kind"] == kind and checkpoint.model.latent_dim == 2
    if kind == "semi":
        assert checkpoint.card["config"]["labels_per_class"] == 10
    else:
        assert checkpoint.model.n_content == 5


def test_a_gan_trains_with_the_chosen_generator_and_feature_matching(page, tiny_models):
    """The GAN options reach the model: a conv generator trained with feature matching weight 2."""
    import os

    at = page
    at.selectbox(key="train_model").set_value("gan").run()
    configure_tiny(at, "page-gan-fm")
    at.selectbox(key="train_generator").set_value("conv")
    at.number_input(key="train_feature_matching").set_value(2.0)
    at.run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="train_start").click().run()
    wait_until_done(at)
    checkpoint = load_checkpoint(Path(os.environ["AAE_RUNS_DIR"]) / "page-gan-fm")
    assert checkpoint.card["config"]["generator"] == "conv"
    assert checkpoint.card["config"]["feature_matching"] == 2.0
    assert "feat_match" in checkpoint.card["training"]["history"][-1]


def test_style_models_refuse_other_priors_and_only_denoising_kinds_offer_corruption(page):
    at = page
    at.selectbox(key="train_model").set_value("semi").run()
    at.selectbox(key="train_prior").set_value("mog10").run()
    assert any("Gaussian prior" in e.value for e in at.error)
    assert at.button(key="train_start").disabled is True
    at.selectbox(key="train_model").set_value("aae").run()
    at.selectbox(key="train_prior").set_value("gaussian").run()
    at.selectbox(key="train_corruption").set_value("masking").run()
    assert not at.error
    at.number_input(key="train_corruption_level").set_value(0.4).run()
    assert not at.error and at.button(key="train_start").disabled is False
    plain = catalog.kinds(trainable=True, denoising=False)[0]  # a config without corruption: no such field
    at.selectbox(key="train_model").set_value(plain).run()
    assert not any(w.key == "train_corruption" for w in at.selectbox)


# -- recipes and the run they describe -------------------------------------------------------------

# Fields the page sets itself whatever a recipe says: where it trains, how often it reports, where the data is.
PAGE_SCHEDULED = {"device", "log_every", "sample_every", "data_dir"}


def described(text: str) -> dict[str, str]:
    """{field: value} of a run specification as `aae train --dry-run` prints it."""
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)


def what_will_run(at: AppTest) -> dict[str, str]:
    assert any(e.label == "What will run" for e in at.expander)
    return described(at.code[0].value)


def test_the_recipe_picker_offers_every_recipe_the_page_can_train(page):
    offered = {label.split(":", 1)[0] for label in at_options(page, "train_recipe")[1:]}
    trainable = {r.name for r in all_recipes() if catalog.entry(r.kind).trainable}
    assert offered == trainable
    assert any(not catalog.entry(r.kind).trainable for r in all_recipes())  # so some are left out
    first = get_recipe(sorted(offered)[0])
    assert f"{first.name}: {first.summary}" in at_options(page, "train_recipe")  # its one line beside its name


def at_options(at: AppTest, key: str) -> list[str]:
    return list(at.selectbox(key=key).options)


@pytest.mark.parametrize("name", ["semi-all", "aae-2d-mog10", "gan-small", "vae-2d-fashion"])
def test_a_recipe_fills_the_form_and_the_page_runs_what_it_resolves_to(page, name):
    """The form takes the recipe's resolved values, and what will run is the recipe's run: every field of its
    `--dry-run` specification, except the page's own schedule."""
    at = page
    recipe = get_recipe(name)
    at.selectbox(key="train_recipe").set_value(name).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = spec.resolve(recipe.run)
    assert at.selectbox(key="train_model").value == recipe.kind
    assert at.number_input(key="train_epochs").value == expected.train.epochs
    assert at.number_input(key="train_lr").value == expected.train.lr
    assert at.number_input(key="train_batch_size").value == expected.train.batch_size
    assert at.number_input(key="train_latent_dim").value == expected.model.latent_dim
    assert at.selectbox(key="train_dataset").value == expected.data.dataset
    assert at.selectbox(key="train_engine_precision").value == expected.train.precision
    page_run, recipe_run = what_will_run(at), described(expected.describe())
    assert page_run.keys() == recipe_run.keys()
    differing = {field for field in page_run if page_run[field] != recipe_run[field]}
    assert differing <= PAGE_SCHEDULED, {f: (page_run[f], recipe_run[f]) for f in differing}


def test_a_recipes_values_can_still_be_changed_and_none_returns_to_the_defaults(page):
    at = page
    recipe = get_recipe("aae-2d-mog10")
    expected = described(spec.resolve(recipe.run).describe())
    at.selectbox(key="train_recipe").set_value(recipe.name).run()
    hidden = spec.resolve(recipe.run).model.hidden
    at.number_input(key="train_hidden").set_value(hidden // 2).run()
    assert not at.error, [e.value for e in at.error]
    changed = what_will_run(at)
    assert changed["hidden"] == str(hidden // 2)
    assert {f for f in changed if changed[f] != expected[f]} - PAGE_SCHEDULED == {"hidden"}
    assert at.selectbox(key="train_recipe").value == recipe.name  # still where it started from

    at.selectbox(key="train_recipe").set_value(None).run()  # none: the model's own defaults again
    defaults = described(spec.resolve({}, kind=recipe.kind).describe())
    back = what_will_run(at)
    assert {f for f in back if back[f] != defaults[f]} <= PAGE_SCHEDULED | {"epochs"}  # the page's short default
    assert at.number_input(key="train_hidden").value is None

    at.selectbox(key="train_recipe").set_value(recipe.name).run()
    at.selectbox(key="train_model").set_value("vae").run()  # another model by hand: its defaults, no recipe
    assert at.selectbox(key="train_recipe").value is None and not at.error, [e.value for e in at.error]
    vae, defaults = what_will_run(at), described(spec.resolve({}, kind="vae").describe())
    assert {f for f in vae if vae[f] != defaults[f]} <= PAGE_SCHEDULED | {"epochs"}
