"""AppTest of the pages for the paper's other AAEs (style & content, clusters, denoise) on tiny real models."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from page_runner import open_page, page_app, values
from PIL import Image

from aae.app.explore import denoise
from aae.core.checkpoints import load_checkpoint
from aae.core.data import load_dataset, load_split, to_float
from aae.core.metrics.evaluate import cluster_report

GRID_CELL = 3 * 30  # one 28-px image with its 2-px padding, upscaled 3×


@pytest.fixture(scope="module")
def test_digits(data_dir) -> torch.Tensor:
    images, _ = load_split("mnist", train=False, data_dir=data_dir)
    return to_float(images[:20])


def png_of(digit: torch.Tensor) -> bytes:
    """A test digit as a scan would show it: dark ink on light paper, enlarged, as PNG bytes."""
    ink = (255 - digit.reshape(28, 28).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(ink).resize((200, 200), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (100, 100), color=255).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_labelled(shown: np.ndarray, bare: np.ndarray) -> None:
    """The image shown is the bare grid with a top margin and a left margin that hold text (dark pixels)."""
    top, left = shown.shape[0] - bare.shape[0], shown.shape[1] - bare.shape[1]
    assert top > 0 and left > 0
    np.testing.assert_array_equal(shown[top:, left:], bare)
    assert (shown[:top, left:] < 128).sum() > 20 and (shown[top:, :left] < 128).sum() > 20


# -- Style & content ------------------------------------------------------------------------------

def test_style_page_prior_rows_are_styles_and_columns_digits(tiny_models):
    path = tiny_models["tiny-supervised"]
    model = load_checkpoint(path).model
    at = open_page("style_content", path)
    grid, codes = at.session_state["style_grid"], at.session_state["style_codes"]
    assert codes.shape == (6, 2)
    assert grid.shape[0] == 6 * GRID_CELL + 6 and grid.shape[1] == 10 * GRID_CELL + 6  # 6 rows × 10 digits
    expected = model.sample_latent(6, generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(codes, expected, atol=1e-6)
    # The grid shown is labelled: a style per row, a digit per column, in margins beside the bare grid
    labels = at.session_state["style_grid_labels"]
    assert labels == {"rows": [f"style {i}" for i in range(1, 7)], "cols": [str(d) for d in range(10)]}
    assert_labelled(at.session_state["style_grid_shown"], grid)

    at.number_input(key="style_seed").set_value(5).run()
    assert not at.exception
    assert not np.allclose(at.session_state["style_codes"], codes)
    at.slider(key="style_n").set_value(3).run()
    assert at.session_state["style_codes"].shape == (3, 2)
    assert at.session_state["style_grid"].shape[0] == 3 * GRID_CELL + 6


def test_style_page_takes_styles_from_test_digits_and_reads_them(tiny_models, test_digits):
    path = tiny_models["tiny-semi"]
    model = load_checkpoint(path).model
    at = open_page("style_content", path, style_source="test digits", style_index=4, style_n=3)
    codes = at.session_state["style_codes"]
    np.testing.assert_allclose(codes, model.encode(test_digits[4:7]).numpy(), atol=1e-5)
    # the source digit leads each row: 11 columns
    assert at.session_state["style_grid"].shape[1] == 11 * GRID_CELL + 6
    assert at.session_state["style_grid_labels"]["cols"][:2] == ["source", "0"]
    readings = at.session_state["style_readings"]
    assert [d for d, _ in readings] == model.classify(test_digits[4:7]).tolist()
    assert all(0.0 < share <= 1.0 for _, share in readings)


def test_style_page_upload_is_encoded_and_a_blank_one_is_an_error(tiny_models, test_digits):
    path = tiny_models["tiny-supervised"]
    at = open_page("style_content", path, style_source="an upload", style_upload_bytes=png_of(test_digits[0]))
    assert at.session_state["style_codes"].shape == (1, 2)
    assert at.session_state["style_grid"].shape == (GRID_CELL + 6, 11 * GRID_CELL + 6)

    at = open_page("style_content", path, style_source="an upload", style_upload_bytes=blank_png())
    assert at.error and "could not be used" in at.error[0].value
    assert at.session_state["style_grid"] is None


def test_style_page_lists_only_style_models(tiny_models):
    at = open_page("style_content", tiny_models["tiny-supervised"])
    options = at.selectbox(key="_model_path_widget").options
    assert any("tiny-supervised" in o for o in options) and any("tiny-semi" in o for o in options)
    assert not any("tiny-aae-8d" in o or "tiny-cluster" in o for o in options)
    assert "SUPERVISED" in options[0]  # the paper's style/content model is the default


def test_style_page_defaults_to_a_supervised_model(tiny_models):

    at = page_app("style_content", timeout=60).run()
    assert not at.exception
    widget = at.selectbox(key="_model_path_widget")
    assert "SUPERVISED" in widget.options[widget.index]


# -- Clusters -------------------------------------------------------------------------------------

def test_cluster_page_rows_and_error_match_the_report(tiny_models, data_dir):
    path = tiny_models["tiny-cluster"]
    model = load_checkpoint(path).model
    report = cluster_report(model, load_dataset("mnist", data_dir=data_dir))
    at = open_page("clusters", path)
    rows = at.session_state["cluster_rows"]
    assert sorted(r["cluster"] for r in rows) == list(range(6))
    assert at.session_state["cluster_error_shown"] == pytest.approx(report.error)
    assert {r["cluster"]: r["digit"] for r in rows} == dict(enumerate(report.digits.tolist()))
    assert sum(r["size"] for r in rows) == 10_000
    for row in rows:  # members really are in their cluster, most confident first
        members = row["members"]
        assert all(int(report.clusters[m]) == row["cluster"] for m in members)
        confidences = report.probs[members, row["cluster"]]
        assert torch.all(confidences[:-1] >= confidences[1:])

    at.radio(key="cluster_naming").set_value("majority").run()
    assert not at.exception
    assert at.session_state["cluster_error_shown"] == pytest.approx(report.error_majority)


def test_cluster_page_for_a_semi_supervised_model_shows_its_classes(tiny_models, data_dir):
    path = tiny_models["tiny-semi"]
    model = load_checkpoint(path).model
    splits = load_dataset("mnist", data_dir=data_dir, test=True)
    at = open_page("clusters", path)
    rows = at.session_state["cluster_rows"]
    assert [r["digit"] for r in sorted(rows, key=lambda r: r["cluster"])] == list(range(10))
    predicted = model.classify(splits.test_x)
    assert at.session_state["cluster_error_shown"] == pytest.approx(float((predicted != splits.test_y).float().mean()))


# -- Denoise --------------------------------------------------------------------------------------

def test_denoise_page_starts_at_the_models_corruption_and_measures_it(tiny_models, data_dir):
    path = tiny_models["tiny-denoise"]
    at = open_page("denoise", path, denoise_model_path=str(path))
    assert at.selectbox(key="denoise_kind").value == "gaussian"
    assert at.slider(key="denoise_level").value == pytest.approx(0.5)
    grid = at.session_state["denoise_grid"]
    assert grid.shape == (3 * GRID_CELL + 6, 10 * GRID_CELL + 6)  # clean, corrupted, denoised × 10 digits
    errors = at.session_state["denoise_errors"]
    assert set(errors) == {"corrupted", "tiny-denoise"}
    labels = at.session_state["denoise_grid_labels"]
    assert labels["rows"] == ["clean", "corrupted", "tiny-denoise"] and len(labels["cols"]) == 10
    assert_labelled(at.session_state["denoise_grid_shown"], grid)

    # the page's numbers are the library's: the same 1000 test digits and noise from the seed
    images, _ = load_split("mnist", train=False, data_dir=data_dir)
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:1000]
    clean = to_float(images)[pick]
    noisy, denoised = denoise(load_checkpoint(path).model, clean, "gaussian", 0.5, seed=0)
    assert errors["corrupted"] == pytest.approx(float((noisy - clean).pow(2).mean()), rel=1e-5)
    assert errors["tiny-denoise"] == pytest.approx(float((denoised - clean).pow(2).mean()), rel=1e-5)

    # more noise, larger error of the corrupted input; another kind of corruption changes the picture
    at.slider(key="denoise_level").set_value(0.9).run()
    assert at.session_state["denoise_errors"]["corrupted"] > errors["corrupted"]
    at.selectbox(key="denoise_kind").set_value("masking").run()
    assert not at.exception
    assert not np.array_equal(at.session_state["denoise_grid"], grid)


def test_denoise_page_compares_two_models(tiny_models, data_dir):
    at = open_page("denoise", tiny_models["tiny-denoise"], denoise_model_path=str(tiny_models["tiny-denoise"]))
    other = str(tiny_models["tiny-aae-8d"])
    at.selectbox(key="denoise_compare").set_value(other).run()
    assert not at.exception
    assert set(at.session_state["denoise_errors"]) == {"corrupted", "tiny-denoise", "tiny-aae-8d"}
    assert at.session_state["denoise_grid"].shape[0] == 4 * GRID_CELL + 6


def test_cluster_page_draws_the_2d_map_of_a_dimred_model(tiny_models, data_dir):
    path = tiny_models["tiny-dimred"]
    model = load_checkpoint(path).model
    at = open_page("clusters", path)
    assert at.session_state["cluster_map_points"] == 10_000
    figure = at.get("plotly_chart")[0].proto.spec
    import json

    traces = json.loads(figure)["data"]
    heads = [t for t in traces if t.get("name") == "heads"][0]
    np.testing.assert_allclose(np.stack([values(heads["x"]), values(heads["y"])], axis=1),
                               model.cluster_heads.weight.detach().numpy(), atol=1e-5)
    assert len([t for t in traces if t.get("name") in [str(d) for d in range(10)]]) == 10
    splits = load_dataset("mnist", data_dir=data_dir, test=True)
    predicted = model.classify(splits.test_x)
    assert at.session_state["cluster_error_shown"] == pytest.approx(float((predicted != splits.test_y).float().mean()))


@pytest.mark.parametrize(("page", "recipe", "metric"), [("clusters", "cluster-16", "cluster_error"),
                                                         ("style_content", "semi-100", "test_error")])
def test_shipped_models_stand_beside_the_paper_like_for_like(page, recipe, metric, tiny_models, data_dir):
    """Where a shipped model meets the paper's figure: the paper's mean ± std, ours over the recipe's seeds, the
    shipped seed's own (chosen on validation) and what the recipe adds, all from the seed figures and cards."""
    import json
    import statistics
    from pathlib import Path

    from aae.lab.recipes import get_recipe

    root = Path(__file__).resolve().parents[1]
    at = open_page(page, root / "checkpoints" / recipe)
    text = " ".join(c.value for c in at.caption)
    values = json.loads((root / "aae" / "lab" / "seed_figures.json").read_text())["recipes"][recipe][metric]
    mean = 100 * statistics.fmean(values.values())
    assert f"**{mean:.2f} ±" in text and f"({len(values)} seeds)" in text
    card = json.loads((root / "checkpoints" / recipe / "card.json").read_text())
    assert f"this model: {100 * card['metrics'][metric]:.2f} % (seed {card['training']['seed']})" in text
    assert "chosen on the validation images" in text and "; ".join(get_recipe(recipe).additions) in text


def test_denoise_compares_only_models_of_the_same_data_and_keeps_its_settings_across_models(
        tiny_models, data_dir, tmp_path, monkeypatch):
    import shutil

    from aae.core.checkpoints import save_checkpoint

    runs = tmp_path / "runs"
    shutil.copytree(tiny_models["tiny-denoise"].parent, runs)
    garments = load_checkpoint(tiny_models["tiny-aae-8d"]).model
    save_checkpoint(runs / "garment-aae", garments, card={"name": "garment-aae", "dataset": {"name": "fashion-mnist"}})
    monkeypatch.setenv("AAE_RUNS_DIR", str(runs))
    path = runs / "tiny-denoise"
    at = open_page("denoise", path, denoise_model_path=str(path))
    assert any("What to notice" in m.value for m in at.markdown)
    offered = at.selectbox(key="denoise_compare").options
    assert not any("garment-aae" in str(o) for o in offered)
    assert any("tiny-aae-8d" in str(o) for o in offered)
    at.selectbox(key="denoise_kind").set_value("masking").run()
    at.slider(key="denoise_level").set_value(0.3).run()
    at.selectbox(key="_denoise_model_path_widget").set_value(str(runs / "tiny-aae-8d")).run()
    assert not at.exception
    assert at.selectbox(key="denoise_kind").value == "masking"
    assert at.slider(key="denoise_level").value == pytest.approx(0.3)
    assert (at.query_params["corruption"], at.query_params["level"]) == ("masking", "0.3")


def test_a_data_folder_too_small_to_hold_out_the_validation_set_is_a_message(tiny_models, mnist_slice_dir,
                                                                              monkeypatch):
    """A folder with fewer training images than the 10,000 held out (the tests' own slice): the page says so and
    stops, with no traceback."""
    monkeypatch.setenv("AAE_DATA_DIR", str(mnist_slice_dir))
    at = open_page("clusters", tiny_models["tiny-cluster"])
    text = " ".join(element.value for element in at.info)
    assert "cannot hold out 10,000 validation images" in text and "1,000 training images" in text
