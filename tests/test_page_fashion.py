"""A Fashion-MNIST model trained from the command line, opened on every page it fits: each page shows it with
Fashion-MNIST's own images, classes and codes, never MNIST's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from page_runner import open_page, page_app, values
from streamlit.testing.v1 import AppTest

from aae.cli import main
from aae.core.checkpoints import load_checkpoint, read_card
from aae.core.data import CLASS_NAMES, is_available, load_dataset

ROOT = Path(__file__).resolve().parents[1]
GARMENTS = {f"{i} {name}" for i, name in enumerate(CLASS_NAMES["fashion-mnist"])}  # "1 Trouser", …


@pytest.fixture(scope="module")
def fashion(tmp_path_factory, data_dir):
    """A 2-D AAE trained by `aae train --dataset fashion-mnist` (1 epoch, 600 images) in a runs folder of its own,
    and the Fashion-MNIST and MNIST test images to tell them apart."""
    if not is_available("fashion-mnist", data_dir):
        pytest.skip("Fashion-MNIST not in the data folder")
    runs = tmp_path_factory.mktemp("fashion-runs")
    out = runs / "tiny-fashion-aae"
    assert main(["train", "--model", "aae", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
                 "--train-limit", "600", "--epochs", "1", "--hidden", "64", "--latent-dim", "2",
                 "--out", str(out)]) == 0
    assert read_card(out)["dataset"]["name"] == "fashion-mnist"
    garments = load_dataset("fashion-mnist", data_dir=data_dir, val_size=0, train_limit=10, test=True).test_x
    digits = load_dataset("mnist", data_dir=data_dir, val_size=0, train_limit=10, test=True).test_x
    labels = load_dataset("fashion-mnist", data_dir=data_dir, val_size=0, train_limit=10, test=True).test_y
    return {"runs": runs, "model": out, "garments": garments, "digits": digits, "labels": labels}


@pytest.fixture
def runs(fashion, monkeypatch):
    monkeypatch.setenv("AAE_RUNS_DIR", str(fashion["runs"]))
    return fashion


def legends(at: AppTest) -> list[set[str]]:
    return [{trace.get("name") for trace in json.loads(chart.proto.spec)["data"]} for chart in at.get("plotly_chart")]


def test_prior_and_samples_shows_fashion_codes(runs):
    at = open_page("prior_samples", runs["model"])
    assert at.session_state["page_dataset"] == "fashion-mnist"
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    q = [t for t in traces if t.get("meta", "").startswith("test-digits:")]
    assert {t["name"] for t in q} == GARMENTS and {t["meta"] for t in q} == {"test-digits:fashion-mnist"}


def test_traversal_starts_from_a_fashion_test_image(runs):
    model = load_checkpoint(runs["model"]).model
    at = open_page("traversal", runs["model"], trav_start="test digit", trav_index=3)
    code = np.asarray(at.session_state["trav_start_code"])
    assert np.allclose(code, model.encode(runs["garments"][3:4])[0].numpy(), atol=1e-5)
    assert not np.allclose(code, model.encode(runs["digits"][3:4])[0].numpy(), atol=1e-3)


def test_encode_reads_a_fashion_test_image_and_maps_it_among_fashion_codes(runs):
    at = open_page("encode", runs["model"], encode_tab="Test digit", encode_test_index=5)
    assert np.allclose(at.session_state["encode_input"], runs["garments"][5, 0].numpy())
    assert any("Fashion-MNIST test images" in (n.help or "") for n in at.number_input)
    assert GARMENTS <= set().union(*legends(at))
    # The dataset's own class names, and words that fit garments as well as digits.
    label = CLASS_NAMES["fashion-mnist"][int(runs["labels"][5])]
    text = " ".join([*(c.value for c in at.caption), *(m.value for m in at.markdown), *(s.value for s in at.subheader),
                     *(str(element.proto) for element in at.get("image"))])
    assert f"({label})" in text and f"a {label}" not in text
    for phrase in ("test digits", "nearest test digit", "true label", "Where it lands among the test digits"):
        assert phrase not in text, phrase
    closest = next(m for m in at.metric if m.label == "Closest class")
    assert closest.value in CLASS_NAMES["fashion-mnist"]
    captions = [str(element.proto) for element in at.get("image")]
    neighbours = [c.split('caption: "')[1].split('"')[0] for c in captions if " · d = " in c]
    assert neighbours and all(c.split(" · ")[0] in CLASS_NAMES["fashion-mnist"] for c in neighbours)


def test_aae_vs_vae_puts_it_beside_the_shipped_fashion_vae(runs):
    at = page_app("aae_vs_vae", timeout=120)
    at.session_state["compare_aae_path"] = str(runs["model"])
    at.session_state["compare_vae_path"] = str(ROOT / "checkpoints" / "vae-2d-fashion")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["page_dataset"] == "fashion-mnist"
    maps = legends(at)
    assert len(maps) == 2 and all(GARMENTS <= names for names in maps)
    model = load_checkpoint(runs["model"]).model
    first = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]  # class 0's codes, in test-set order
    index = [i for _, i in first["customdata"]][:5]
    codes = np.stack([values(first["x"])[:5], values(first["y"])[:5]], axis=1)
    assert np.allclose(codes, model.encode(runs["garments"][index]).numpy(), atol=1e-4)


def test_denoise_corrupts_and_cleans_fashion_test_images(runs):
    from ui.plots import grid_image

    at = open_page("denoise", runs["model"], denoise_model_path=str(runs["model"]))
    columns = at.session_state["denoise_grid_labels"]["cols"]
    top = at.session_state["denoise_grid"][:90]  # the first row of the grid: the clean images (3 × (2 + 28) px)
    assert np.array_equal(top, grid_image(runs["garments"][columns], nrow=len(columns), scale=3)[:90])
    assert not np.array_equal(top, grid_image(runs["digits"][columns], nrow=len(columns), scale=3)[:90])


def test_pages_that_do_not_fit_a_plain_aae_do_not_offer_it(runs):
    # Style & content and Clusters show models with a categorical or content code; a plain AAE is not among them.
    for page in ("style_content", "clusters"):
        at = page_app(page, timeout=60).run()
        assert not at.exception
        options = [o for box in at.selectbox for o in box.options]
        assert not any("tiny-fashion-aae" in str(o) for o in options), page
