"""AppTest of views/aae_vs_vae.py on the tiny models: two maps of the test codes side by side with their
numbers, PCA / t-SNE for 8-D codes, and warnings when the two models do not match."""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from page_runner import page_app
from streamlit.testing.v1 import AppTest

from aae.core.checkpoints import load_checkpoint
from aae.core.data import load_dataset
from aae.core.inference import encode_all

ROOT = Path(__file__).resolve().parents[1]
METRICS = {"knn_accuracy", "silhouette", "mmd", "recon_bce", "recon_mse"}


def values(array) -> np.ndarray:
    """A plotly JSON array: a list, or numpy data packed as {"dtype", "bdata" (base64)}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def open_pair(left: Path | None, right: Path | None) -> AppTest:
    at = page_app("aae_vs_vae", timeout=120)
    if left is not None:
        at.session_state["compare_aae_path"] = str(left)
        at.session_state["compare_vae_path"] = str(right)
    at.run()
    assert not at.exception, at.exception
    return at


def assert_two_plots_and_finite_numbers(at: AppTest, names: list[str], n_points: int) -> list[dict]:
    plots = figures(at)
    assert len(plots) == 2
    for plot in plots:
        assert len(plot["data"]) == 10  # one trace per digit
        assert sum(len(values(trace["x"])) for trace in plot["data"]) == n_points
        assert "test #" in plot["data"][0]["hovertemplate"]
    # Raw 2-D codes: the same axes on both sides; projections fitted per model: each its own axes.
    same = (plots[0]["layout"]["xaxis"]["range"] == plots[1]["layout"]["xaxis"]["range"]
            and plots[0]["layout"]["yaxis"]["range"] == plots[1]["layout"]["yaxis"]["range"])
    assert same == at.session_state["compare_shared_axes"]
    metrics = at.session_state["compare_metrics"]
    assert set(metrics) == set(names)
    for numbers in metrics.values():
        assert set(numbers) == METRICS and all(math.isfinite(v) for v in numbers.values())
        assert 0.0 <= numbers["knn_accuracy"] <= 1.0 and -1.0 <= numbers["silhouette"] <= 1.0
        assert numbers["recon_bce"] > 0 and 0 < numbers["recon_mse"] < 1
    assert len(at.metric) == 10 and all(m.proto.help for m in at.metric)
    return plots


def test_two_dimensional_pair_shows_raw_codes_side_by_side(tiny_models, data_dir):
    aae, vae = tiny_models["tiny-aae-2d-gaussian"], tiny_models["tiny-vae-2d"]
    at = open_pair(aae, vae)
    assert_two_plots_and_finite_numbers(at, ["tiny-aae-2d-gaussian", "tiny-vae-2d"], 10_000)
    assert not at.warning  # same size, same prior
    assert not [s for s in at.selectbox if s.key == "_compare_projection_widget"]  # nothing to project
    # The plotted points are the models' own 2-D codes of the test set.
    images = load_dataset("mnist", data_dir=os.environ["AAE_DATA_DIR"], val_size=0, train_limit=10,
                          test=True, test_limit=50).test_x
    for name, path in [("tiny-aae-2d-gaussian", aae), ("tiny-vae-2d", vae)]:
        codes = encode_all(load_checkpoint(path).model, images).numpy()
        assert np.allclose(at.session_state["compare_points"][name][:50], codes, atol=1e-5)
    # The two models really differ in their numbers.
    metrics = at.session_state["compare_metrics"]
    assert metrics["tiny-aae-2d-gaussian"] != metrics["tiny-vae-2d"]


def test_eight_dimensional_pair_with_pca_then_tsne_on_a_subsample(tiny_models, data_dir):
    names = ["tiny-aae-8d", "tiny-vae-8d"]
    at = open_pair(tiny_models[names[0]], tiny_models[names[1]])
    assert at.selectbox(key="_compare_projection_widget").value == "PCA"
    assert at.number_input(key="compare_n_pca").value == 10_000
    pca_plots = assert_two_plots_and_finite_numbers(at, names, 10_000)
    assert pca_plots[0]["layout"]["xaxis"]["title"]["text"] == "PCA 1"
    assert any("PCA of the 8-D codes" in c.value for c in at.caption)
    pca_metrics = at.session_state["compare_metrics"]

    at.selectbox(key="_compare_projection_widget").set_value("t-SNE")
    at.session_state["compare_n_tsne"] = 300  # small, to keep the test fast
    at.run()
    assert not at.exception and not at.error
    plots = assert_two_plots_and_finite_numbers(at, names, 300)
    assert plots[0]["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"
    assert any("t-SNE of the 8-D codes" in c.value and "300 of 10,000" in c.value for c in at.caption)
    points = at.session_state["compare_points"]
    assert all(p.shape == (300, 2) and np.isfinite(p).all() for p in points.values())
    # Fitted per model: the two maps differ. The numbers are of the codes, not the map: unchanged.
    assert not np.allclose(points[names[0]], points[names[1]])
    assert at.session_state["compare_metrics"] == pca_metrics


def test_default_pair_matches_and_a_mismatch_is_warned(tiny_models, data_dir):
    at = open_pair(None, None)
    by_path = {}
    for path in (at.session_state["compare_aae_path"], at.session_state["compare_vae_path"]):
        card = json.loads((Path(path) / "card.json").read_text())
        by_path[path] = (card["kind"], card["config"]["latent_dim"])
    (left_kind, left_dim), (right_kind, right_dim) = by_path.values()
    assert (left_kind, right_kind) == ("aae", "vae") and left_dim == right_dim
    assert not any("sizes differ" in w.value for w in at.warning)

    # A 2-D mixture AAE against the 8-D VAE: both the size and the prior differ.
    at.selectbox(key="_compare_aae_path_widget").set_value(str(tiny_models["tiny-aae-2d-mog10"]))
    at.selectbox(key="_compare_vae_path_widget").set_value(str(tiny_models["tiny-vae-8d"]))
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "latent sizes differ (2-D vs 8-D)" in warnings and "priors differ" in warnings
    assert len(figures(at)) == 2
    assert at.session_state["compare_points"]["tiny-vae-8d"].shape == (10_000, 2)
    assert set(at.session_state["compare_metrics"]) == {"tiny-aae-2d-mog10", "tiny-vae-8d"}


def test_the_page_shows_the_numbers_aae_eval_prints_for_the_shipped_pair(tiny_models, data_dir, capsys):
    """The shipped 2-D AAE and VAE: the page's numbers and `aae eval`'s agree to the digits it prints."""
    from aae.cli import main

    aae, vae = ROOT / "checkpoints" / "aae-2d-gaussian", ROOT / "checkpoints" / "vae-2d"
    at = open_pair(aae, vae)
    assert at.session_state["compare_shared_axes"] is True
    page = at.session_state["compare_metrics"]
    assert main(["eval", str(aae), str(vae), "--no-parzen", "--json", "--data-dir", str(data_dir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    for name in ("aae-2d-gaussian", "vae-2d"):
        for key in METRICS:
            # the page shows the card's figures (aae eval --write, perhaps on another machine): the same numbers up
            # to the order of float sums
            assert page[name][key] == pytest.approx(printed[name][key], rel=1e-3), (name, key)
        # and they are the Home card's (aae eval --write), to the last digit
        card = load_checkpoint(ROOT / "checkpoints" / name).card["metrics"]
        assert all(page[name][key] == card[key] for key in METRICS), name


def test_the_shipped_pair_names_both_decoders_path_lengths_from_their_cards(tiny_models, data_dir):
    aae, vae = ROOT / "checkpoints" / "aae-2d-gaussian", ROOT / "checkpoints" / "vae-2d"
    at = open_pair(aae, vae)
    (caption,) = [c.value for c in at.caption if "path length" in c.value]
    for path in (aae, vae):
        ppl = load_checkpoint(path).card["metrics"]["ppl"]
        assert f"**{path.name}** {ppl:.2f}" in caption


def test_a_fashion_pair_is_shown_on_fashion_mnist_with_the_numbers_aae_eval_prints(tiny_models, data_dir, capsys):
    """The shipped Fashion-MNIST AAE and VAE: the page encodes the Fashion-MNIST test set (its own dataset, not
    MNIST digits), names Fashion's classes, and its numbers are `aae eval`'s, which reads that test set too."""
    from aae.cli import main
    from aae.core.data import CLASS_NAMES

    aae, vae = ROOT / "checkpoints" / "aae-2d-fashion", ROOT / "checkpoints" / "vae-2d-fashion"
    at = open_pair(aae, vae)
    assert at.session_state["page_dataset"] == "fashion-mnist"
    page = at.session_state["compare_metrics"]
    assert main(["eval", str(aae), str(vae), "--no-parzen", "--json", "--data-dir", str(data_dir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    for name in ("aae-2d-fashion", "vae-2d-fashion"):
        assert printed[name]["data"]["dataset"] == "fashion-mnist"
        for key in METRICS:
            # the page shows the card's figures (aae eval --write, perhaps on another machine): the same numbers up
            # to the order of float sums
            assert page[name][key] == pytest.approx(printed[name][key], rel=1e-3), (name, key)
    legend = {t.get("name") for chart in at.get("plotly_chart") for t in json.loads(chart.proto.spec)["data"]}
    assert {f"{i} {name}" for i, name in enumerate(CLASS_NAMES["fashion-mnist"])} <= legend  # "1 Trouser", ...


def test_what_to_notice_says_which_model_the_shown_numbers_favour(tiny_models, data_dir):
    from aae.core.metrics.evaluate import LATENT_METRICS, METRICS, metric_label

    names = ["tiny-aae-8d", "tiny-vae-8d"]
    at = open_pair(tiny_models[names[0]], tiny_models[names[1]])
    notice = next(m.value for m in at.markdown if "What to notice" in m.value)
    metrics = at.session_state["compare_metrics"]
    for key in LATENT_METRICS:
        a, b = metrics[names[0]][key], metrics[names[1]][key]
        winner = names[0] if (a > b) == (METRICS[key].better == "higher") else names[1]
        clause = notice.split(f"**{winner}** is ahead on")[1].split(";")[0]
        assert metric_label(key) in clause, (key, winner, notice)  # named beside the model that wins it
    assert "fill the prior" not in notice  # the 2-D figure's claim is not made of a projection
    assert at.query_params["projection"] == "PCA"


def test_the_8d_pair_like_for_like_is_shown_from_the_sweep_records(tiny_models, data_dir):
    """Both plain and both with the same input noise: the page's table is the sweep records' arms, as the results
    document gives them (an arm without trials says so rather than leaving the row out)."""
    from aae.lab.paper import EIGHT_D_PAIR
    from aae.lab.report import pair_rows, sweep_records

    at = open_pair(tiny_models["tiny-aae-8d"], tiny_models["tiny-vae-8d"])
    expected = pair_rows(sweep_records())
    (table,) = [t.value for t in at.table if "inputs" in t.value.columns]
    assert table.to_dict("records") == expected
    assert [(row["model"], row["inputs"]) for row in expected] == [(a.model, a.inputs) for a in EIGHT_D_PAIR]
    assert any(row["validation Parzen LL ↑ (mean ± std)"].endswith("seeds)") for row in expected)


def test_the_2d_pair_over_seeds_is_shown_from_the_seed_figures(tiny_models, data_dir):
    """The paper's Figure 2 pair over its recipes' seeds: the page's table is the results document's, with the
    committed seed figures (the 2-D VAE has three seeds)."""
    from aae.lab.paper import seed_figures
    from aae.lab.report import two_d_rows, two_d_summary

    at = open_pair(tiny_models["tiny-aae-2d-gaussian"], tiny_models["tiny-vae-2d"])
    expected = two_d_rows(seed_figures())
    (table,) = [t.value for t in at.table if "which is ahead" in t.value.columns]
    assert table.to_dict("records") == expected
    assert any(m.value == two_d_summary(expected) for m in at.markdown)
    knn = next(row for row in expected if row["figure (official test set)"].startswith("kNN accuracy"))
    assert knn["2-D VAE (mean ± std)"].endswith("(3 seeds)")
