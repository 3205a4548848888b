"""AppTest of views/traversal.py on the tiny models: sliders, start points, sweep and interpolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from page_runner import open_page as run_page
from page_runner import page_app
from streamlit.testing.v1 import AppTest

from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.data import load_split, to_float
from aae.core.models import GANConfig, build_model

ROOT = Path(__file__).resolve().parents[1]


def open_page(path: Path) -> AppTest:
    return run_page("traversal", path)


def slider_keys(at: AppTest) -> list[str]:
    return [s.key for s in at.slider if s.key.startswith("trav_z")]


def live_payload(at: AppTest, name: str = "trav_live_sliders") -> dict:
    """What the in-browser decoder was given: the component's arguments (or an embedded page's payload)."""
    import json

    for element in at.get("component_instance"):
        if element.proto.id.endswith(name):
            return json.loads(element.proto.json_args)["payload"]
    for element in at.get("iframe"):  # an embedded page carries its payload in a script tag
        text = element.proto.srcdoc
        start = text.index('type="application/json">') + len('type="application/json">')
        payload = json.loads(text[start:text.index("</script>", start)])
        if payload.get("shown"):
            return payload
    raise AssertionError("no live decoder on the page")


def move_live(at: AppTest, z: list[float], seq: str) -> None:
    """What the browser does when a live slider is let go: the component sends the code back."""
    at.session_state["trav_live_sliders"] = {"z": z, "seq": seq}
    at.run()
    assert not at.exception


def strip_width(n_images: int) -> int:
    return 3 * (n_images * 30 + 2)  # 28 px + 2 px padding each, upscaled 3×


@pytest.fixture(scope="module")
def test_digits(data_dir) -> torch.Tensor:
    images, _ = load_split("mnist", train=False, data_dir=data_dir)
    return to_float(images[:10])


def test_2d_aae_live_sliders_sweep_and_test_digit_start(tiny_models, test_digits):
    path = tiny_models["tiny-aae-2d-gaussian"]
    at = open_page(path)
    assert slider_keys(at) == []  # one set of sliders: the live ones in the browser
    assert live_payload(at)["shown"] == 2 and live_payload(at)["map"] is not None
    image = at.session_state["traversal_image"]
    assert image.dtype == np.uint8 and image.shape == (224, 224)

    # letting go of a live slider moves the page's code, the decoded image and the sweep
    start_code = np.array(at.session_state["trav_start_code"])
    target = 0.5 if abs(start_code[0] - 0.5) > 0.3 else -0.5
    sweep = at.session_state["sweep_images"]
    move_live(at, [target, float(start_code[1])], "a-1")
    assert at.session_state["traversal_code"][0] == pytest.approx(target)
    assert at.session_state["traversal_code"][1] == pytest.approx(start_code[1])
    assert not np.array_equal(at.session_state["traversal_image"], image)
    assert at.query_params["z1"] == f"{target:.4g}"
    assert live_payload(at)["z"] == pytest.approx([target, start_code[1]])  # the live sliders stay there

    # the sweep: 11 decoded images across the range of the chosen dimension, through the moved code
    assert at.session_state["sweep_images"].shape == (11, 1, 28, 28)
    assert at.session_state["sweep_strip"].shape[1] == strip_width(11)
    assert not np.allclose(at.session_state["sweep_images"][0], at.session_state["sweep_images"][-1])
    at.selectbox(key="sweep_dim").set_value(1).run()
    assert not np.array_equal(at.session_state["sweep_images"], sweep)

    # a test digit as the start: the code is the encoder's, and another index gives another image
    model = load_checkpoint(path, device="cpu").model
    at.radio(key="trav_start").set_value("test digit").run()
    assert not at.exception
    expected = model.encode(test_digits[0:1])[0].numpy()
    assert np.allclose(at.session_state["traversal_code"], expected, atol=1e-4)
    assert live_payload(at)["z"] == pytest.approx(expected, abs=1e-4)
    image = at.session_state["traversal_image"]
    at.number_input(key="trav_index").set_value(3).run()
    assert np.allclose(at.session_state["traversal_code"], model.encode(test_digits[3:4])[0].numpy(), atol=1e-4)
    assert not np.array_equal(at.session_state["traversal_image"], image)


def test_a_shared_link_sets_the_live_sliders_and_a_move_writes_the_link(tiny_models, test_digits):
    """`?start=test+digit&digit=5&z1=-2&z2=2`: the live sliders (the only ones) start at −2 and 2 from digit 5,
    and the component's sliders keep the address in step."""
    at = page_app("traversal", timeout=60)
    at.query_params.update({"model": "tiny-aae-2d-gaussian", "start": "test digit", "digit": "5", "z1": "-2",
                            "z2": "2"})
    at.run()
    assert not at.exception
    assert slider_keys(at) == []
    payload = live_payload(at)
    assert payload["z"] == pytest.approx([-2.0, 2.0]) and payload["url"] == "z" and payload["report"]
    model = load_checkpoint(tiny_models["tiny-aae-2d-gaussian"], device="cpu").model
    assert payload["z0"] == pytest.approx(model.encode(test_digits[5:6])[0].tolist(), abs=1e-4)  # digit 5's code
    assert list(at.session_state["traversal_code"]) == pytest.approx([-2.0, 2.0])
    move_live(at, [1.5, -0.25], "b-1")
    assert (at.query_params["z1"], at.query_params["z2"]) == ("1.5", "-0.25")
    assert list(at.session_state["traversal_code"]) == pytest.approx([1.5, -0.25])
    move_live(at, [1.5, -0.25], "b-1")  # the same message again (a rerun): nothing moves back
    assert list(at.session_state["traversal_code"]) == pytest.approx([1.5, -0.25])
    # the live widget is styled like the app: the theme's primary colour, axes and a legend on the map
    assert payload["accent"].lower() == "#ff4b4b"  # Streamlit's primary red, as the app's own sliders
    assert payload["map"]["classes"] == [str(k) for k in range(10)]


def test_8d_vae_linear_and_spherical_interpolation_differ(tiny_models, data_dir):
    at = open_page(tiny_models["tiny-vae-8d"])
    assert live_payload(at)["shown"] == 8 and slider_keys(at) == []
    at.slider(key="interp_steps").set_value(7).run()
    linear, linear_codes = at.session_state["interp_strip"], at.session_state["interp_codes"]
    assert linear.shape[1] == strip_width(7 + 2)  # both originals frame the 7 decoded steps
    assert at.session_state["interp_codes"].shape == (7, 8)
    at.radio(key="interp_mode").set_value("spherical").run()
    assert not at.exception
    spherical = at.session_state["interp_strip"]
    assert spherical.shape == linear.shape and not np.array_equal(spherical, linear)
    # same endpoints, a different path between them
    codes = at.session_state["interp_codes"]
    assert np.allclose(codes[[0, -1]], linear_codes[[0, -1]], atol=1e-4)
    assert not np.allclose(codes[3], linear_codes[3], atol=1e-3)
    assert np.linalg.norm(codes[3]) > np.linalg.norm(linear_codes[3])  # slerp does not cut through the middle

    # the sweep follows the chosen dimension
    before = at.session_state["sweep_images"]
    at.selectbox(key="sweep_dim").set_value(5).run()
    assert at.session_state["sweep_images"].shape == (11, 1, 28, 28)
    assert not np.array_equal(at.session_state["sweep_images"], before)


def test_gan_starts_from_prior_samples_only(tiny_models):
    at = open_page(tiny_models["tiny-gan"])  # 16-D noise
    assert at.radio(key="trav_start").disabled and at.radio(key="trav_start").value == "prior sample"
    assert any("no encoder" in c.value for c in at.caption)
    assert live_payload(at)["shown"] == 16
    image = at.session_state["traversal_image"]
    z = list(at.session_state["traversal_code"])
    z[5] = 2.5
    move_live(at, z, "gan-1")
    assert not np.array_equal(at.session_state["traversal_image"], image)
    # a new seed is a new start: the sliders follow it
    z5 = live_payload(at)["z"][5]
    at.button(key="trav_new_sample").click().run()
    assert at.number_input(key="trav_seed").value == 1 and live_payload(at)["z"][5] != z5
    # interpolation between two prior samples (no originals to frame it)
    at.slider(key="interp_steps").set_value(5).run()
    assert at.session_state["interp_strip"].shape[1] == strip_width(5)


def test_wide_latent_and_missing_data(tiny_models, tmp_path, monkeypatch):
    # a 20-D GAN (untrained: only the shapes matter) and no MNIST anywhere
    runs = tmp_path / "runs"
    wide = save_checkpoint(runs / "wide-gan", build_model("gan", GANConfig(latent_dim=20, generator_hidden=(16,),
                                                                              disc_channels=4)))
    monkeypatch.setenv("AAE_RUNS_DIR", str(runs))
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path / "no-data"))
    at = open_page(wide)
    assert live_payload(at)["shown"] == 16
    assert any("first 16" in c.value for c in at.caption)
    start = np.array(at.session_state["trav_start_code"])
    move_live(at, [*start[:15], -1.0], "wide-1")
    code = at.session_state["traversal_code"]
    assert code[15] == pytest.approx(-1.0) and np.allclose(code[16:], start[16:])  # the rest stay fixed
    at.selectbox(key="sweep_dim").set_value(19).run()  # sweeping works beyond the sliders
    assert not at.exception and at.session_state["sweep_images"].shape == (11, 1, 28, 28)

    # a VAE without data: the page says so and starts from a prior sample
    monkeypatch.setenv("AAE_RUNS_DIR", str(Path(tiny_models["tiny-vae-8d"]).parent))
    at = open_page(tiny_models["tiny-vae-8d"])
    assert at.session_state["model_path"] == str(tiny_models["tiny-vae-8d"]) and live_payload(at)["shown"] == 8
    assert any("MNIST" in i.value for i in at.info)
    assert at.radio(key="trav_start").disabled
    assert at.session_state["interp_strip"] is not None


def test_a_conv_generator_falls_back_to_the_server_and_says_so(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    conv = save_checkpoint(runs / "conv-gan", build_model("gan", GANConfig(latent_dim=6, generator="conv",
                                                                          generator_channels=8, disc_channels=4)))
    monkeypatch.setenv("AAE_RUNS_DIR", str(runs))
    at = open_page(conv)
    assert at.session_state["trav_live"] is False  # no decoder for the browser
    assert any("browser cannot run it" in c.value and "reruns only this section" in c.value for c in at.caption)
    before = at.session_state["traversal_image"]
    at.slider(key="trav_z0").set_value(-1.0).run()
    assert not at.exception
    assert at.session_state["traversal_code"][0] == pytest.approx(-1.0)
    assert not np.array_equal(at.session_state["traversal_image"], before)  # the server decoded the move
