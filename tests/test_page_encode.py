"""AppTest of views/encode.py on the tiny models: an uploaded digit photo is converted, encoded, reconstructed,
starred on the map with its neighbours; bad files give an error, not a traceback; test digits drive the code."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from page_runner import open_page as run_page
from page_runner import values
from PIL import Image
from streamlit.testing.v1 import AppTest

from aae.core.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist_digit(data_dir) -> tuple[np.ndarray, int]:
    """The first MNIST test digit (28, 28) in [0, 1] and its label."""
    from aae.core.data import load_dataset

    splits = load_dataset("mnist", data_dir=data_dir, val_size=0, train_limit=10, test=True, test_limit=1)
    return splits.test_x[0, 0].numpy(), int(splits.test_y[0])


def paper_png(digit: np.ndarray) -> bytes:
    """The digit as a scan would show it: dark ink on light paper, 8× larger, with a margin, as PNG bytes."""
    ink = Image.fromarray((255 - digit * 255).round().astype(np.uint8)).resize((224, 224), Image.Resampling.BICUBIC)
    page = Image.new("L", (320, 300), color=245)
    page.paste(ink.point(lambda v: min(v, 245)), (50, 40))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), color=(255, 255, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def open_page(model: Path, **state) -> AppTest:
    return run_page("encode", model, **state)


def figure(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def test_uploaded_digit_is_converted_encoded_starred_and_neighboured(tiny_models, mnist_digit):
    digit, label = mnist_digit
    at = open_page(tiny_models["tiny-aae-2d-mog10"], upload_bytes=paper_png(digit))
    assert not at.error

    # The conversion steps are shown, titled, in order.
    captions = [image.proto.imgs[0].caption for image in at.get("image")[:5]]
    for caption, step in zip(captions, ["grey", "white on black", "cropped", "fitted into 20×20",
                                        "centred by mass in 28×28"]):
        assert step in caption
    # What was encoded is the uploaded digit brought back to MNIST form, not some other image.
    encoded_input = at.session_state["encode_input"]
    assert np.corrcoef(encoded_input.ravel(), digit.ravel())[0, 1] > 0.9

    code, reconstruction = at.session_state["encoded_code"], at.session_state["reconstruction"]
    assert code.shape == (2,) and np.isfinite(code).all()
    assert reconstruction.shape == (28, 28) and 0 <= reconstruction.min() and reconstruction.max() <= 1
    # The reconstruction shown is the decoder's image of the code shown.
    model = load_checkpoint(tiny_models["tiny-aae-2d-mog10"]).model
    decoded = model.decode(torch.from_numpy(code)[None])[0, 0].numpy()
    assert np.allclose(reconstruction, decoded, atol=1e-5)
    assert "reconstruction" in [image.proto.imgs[0].caption for image in at.get("image")]

    # The star sits at the code on the 2-D map, over the 10 digit classes of the test set.
    traces = figure(at)["data"]
    stars = [t for t in traces if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 1
    assert stars[0]["x"][0] == pytest.approx(float(code[0]), abs=1e-5)
    assert stars[0]["y"][0] == pytest.approx(float(code[1]), abs=1e-5)
    digits = [t for t in traces if t.get("type") == "scattergl" and t.get("name") not in ("your image", "8 nearest")]
    assert sum(len(values(t["x"])) for t in digits) == 10_000
    # The star and its neighbours are drawn above the test codes: WebGL like them (WebGL covers SVG), and after.
    assert [t["name"] for t in traces[-2:]] == ["8 nearest", "your image"]
    assert all(t.get("type") == "scattergl" for t in traces[-2:])

    # 8 distinct neighbours, shown with labels and distances that grow.
    neighbours = at.session_state["encode_neighbours"]
    assert len(neighbours) == 8 == len(set(neighbours))
    neighbour_captions = [image.proto.imgs[0].caption for image in at.get("image")[-8:]]
    distances = [float(c.split("d = ")[1]) for c in neighbour_captions]
    assert distances == sorted(distances) and all(c.split(" · ")[0] in "0123456789" for c in neighbour_captions)

    closest = at.session_state["encode_closest"]
    assert closest["label"] in range(10) and 0.1 <= closest["share"] <= 1.0
    assert closest["component"] in range(10)  # the mog10 model was trained with labels
    assert {m.label for m in at.metric} == {"Closest class", "Nearest prior component"}


def test_eight_dimensional_model_places_the_star_on_the_pca_map(tiny_models, mnist_digit):
    at = open_page(tiny_models["tiny-aae-8d"], upload_bytes=paper_png(mnist_digit[0]))
    assert at.session_state["encoded_code"].shape == (8,)
    stars = [t for t in figure(at)["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 1
    # Switching the map to raw dimensions moves the star onto (z1, z2).
    at.selectbox(key="_encode_map_widget").set_value("dimensions 1 and 2").run()
    code = at.session_state["encoded_code"]
    star = next(t for t in figure(at)["data"] if t.get("marker", {}).get("symbol") == "star")
    assert (star["x"][0], star["y"][0]) == pytest.approx((float(code[0]), float(code[1])), abs=1e-5)
    assert [m.label for m in at.metric] == ["Closest class"]  # no labelled prior: no component


@pytest.mark.parametrize(("payload", "message"), [(b"not an image", "not an image"), (blank_png(), "blank")])
def test_bad_file_shows_an_error_and_the_page_stays_usable(tiny_models, data_dir, payload, message):
    at = open_page(tiny_models["tiny-vae-2d"], upload_bytes=payload)
    assert len(at.error) == 1 and message in at.error[0].value
    assert at.session_state["encoded_code"] is None and not at.get("plotly_chart")
    # Still usable: a test digit is encoded on the same page.
    at.session_state["encode_tab"] = "Test digit"
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["encoded_code"].shape == (2,)


def test_changing_the_test_digit_changes_the_code(tiny_models, mnist_digit):
    at = open_page(tiny_models["tiny-aae-2d-gaussian"], encode_tab="Test digit")
    first, first_reconstruction = at.session_state["encoded_code"], at.session_state["reconstruction"]
    assert np.array_equal(at.session_state["encode_input"], mnist_digit[0])  # test #0, as is
    assert 0 not in at.session_state["encode_neighbours"]  # not its own neighbour
    at.number_input(key="encode_test_index").set_value(1).run()
    assert not at.exception
    second = at.session_state["encoded_code"]
    assert second.shape == first.shape == (2,) and not np.allclose(first, second)
    assert not np.array_equal(at.session_state["reconstruction"], first_reconstruction)
    assert any("true class" in c.value for c in at.caption)
    assert 1 not in at.session_state["encode_neighbours"] and len(at.session_state["encode_neighbours"]) == 8


def test_without_data_encoding_still_works(tiny_models, mnist_digit, monkeypatch, tmp_path):
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))  # an empty folder: no MNIST
    at = open_page(tiny_models["tiny-aae-2d-gaussian"], upload_bytes=paper_png(mnist_digit[0]))
    assert not at.error
    assert at.session_state["encoded_code"].shape == (2,)
    assert at.session_state["reconstruction"].shape == (28, 28)
    assert not at.get("plotly_chart") and at.session_state["encode_neighbours"] == []
    assert any("need the MNIST test set" in i.value for i in at.info)


def test_the_map_box_shows_the_map_drawn_and_keeps_the_choice_across_a_2d_model(tiny_models, data_dir):
    at = open_page(tiny_models["tiny-aae-8d"], encode_tab="Test digit")
    at.selectbox(key="_encode_map_widget").set_value("dimensions 1 and 2").run()
    assert at.query_params["map"] == "dimensions 1 and 2"
    at.selectbox(key="_model_path_widget").set_value(str(tiny_models["tiny-aae-2d-gaussian"])).run()
    assert not at.exception
    assert not [box for box in at.selectbox if box.label == "Map"]  # a 2-D code is its own map: nothing to pick
    assert any("the 2-D codes themselves" in c.value for c in at.caption)
    at.selectbox(key="_model_path_widget").set_value(str(tiny_models["tiny-vae-8d"])).run()
    box = at.selectbox(key="_encode_map_widget")
    assert box.value == "dimensions 1 and 2"  # the choice made before the 2-D model
    assert box.proto.default == 1  # and what a browser shows when it draws the box again
    assert figure(at)["layout"]["xaxis"]["title"]["text"] == "z1"


@pytest.mark.parametrize("shape", [(225, 45), (4, 20), (28, 28), (400, 300)],
                         ids=["a tall crop", "a wide fitted digit", "MNIST form", "a photo"])
def test_a_conversion_step_is_drawn_at_its_true_aspect_ratio_in_a_square_of_one_size(shape):
    from ui.plots import thumbnail

    image = np.random.default_rng(0).uniform(0.2, 1.0, shape)  # no pixel as dark as the transparent margin
    square = thumbnail(image, side=336)
    assert square.shape == (336, 336, 4)  # every step the same size in its row
    drawn = np.argwhere(square[..., 3] > 0)
    (top, left), (bottom, right) = drawn.min(0), drawn.max(0) + 1
    height, width = bottom - top, right - left
    assert max(height, width) == 336  # its longer edge fills the square
    assert width / height == pytest.approx(shape[1] / shape[0], rel=0.02)  # not stretched
    if shape == (28, 28):  # enlarged by whole pixels: each pixel a sharp 12 × 12 block of its own grey
        assert np.array_equal(square[..., 0], np.kron((image * 255).round(), np.ones((12, 12))).astype(np.uint8))
