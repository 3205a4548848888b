"""ui/hover.py: the test set as one sprite the browser crops digits from, and the mark that tells the browser
which traces of a latent map are test digits (the browser side is tests/test_browser.py's hover test)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from page_runner import page_app
from PIL import Image

from aae.core.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_the_sprite_holds_every_digit_at_its_index(data_dir):
    from ui.hover import SPRITE_COLUMNS, sprite_png

    images = load_dataset("mnist", data_dir=data_dir, val_size=0, train_limit=10, test=True, test_limit=250).test_x
    sheet = np.asarray(Image.open(io.BytesIO(sprite_png(images))))
    assert sheet.shape == (3 * 28, SPRITE_COLUMNS * 28)  # 250 digits: three rows, the last one part full
    for index in (0, 99, 100, 249):
        row, column = divmod(index, SPRITE_COLUMNS)
        crop = sheet[row * 28:(row + 1) * 28, column * 28:(column + 1) * 28]
        expected = (images[index, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        assert np.array_equal(crop, expected)
    assert not sheet[2 * 28:, 50 * 28:].any()  # no digit past the last


def test_the_maps_mark_their_test_digits_and_the_page_writes_the_sprite(tiny_models, data_dir, tmp_path,
                                                                        monkeypatch):
    from ui import hover

    monkeypatch.setattr(hover, "STATIC_DIR", tmp_path / "static")
    hover.sprite_name.clear()
    at = page_app("aae_vs_vae", timeout=120)
    at.session_state["compare_aae_path"] = str(tiny_models["tiny-aae-2d-gaussian"])
    at.session_state["compare_vae_path"] = str(tiny_models["tiny-vae-2d"])
    at.run()
    assert not at.exception, at.exception
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            assert trace["meta"] == "test-digits:mnist"
            digits = {int(label) for label, _ in trace["customdata"]}
            assert len(digits) == 1 and 0 <= min(i for _, i in trace["customdata"])
    assert at.get("html"), "no hover script on the page"  # .streamlit/config.toml turns static serving on
    script = at.get("html")[0].proto.body
    start = script.index("const config = ") + len("const config = ")
    url = json.loads(script[start:script.index(";\n", start)])["url"]
    sprites = list((tmp_path / "static" / "sprites").glob("mnist-test-*.png"))
    assert len(sprites) == 1 and url.endswith("/app/static/sprites/" + sprites[0].name)
    assert Image.open(sprites[0]).size == (100 * 28, 100 * 28)  # the whole 10,000-digit test set


def test_a_later_start_finds_the_sprite_without_drawing_it_and_other_data_gets_another(data_dir, tmp_path,
                                                                                       monkeypatch):
    """The sprite is named by the data files it is drawn from: a restarted server serves the one it wrote before
    without drawing it again (0.7 s of a first visit), and changed data files get a sprite of their own."""
    from ui import hover

    monkeypatch.setattr(hover, "STATIC_DIR", tmp_path / "static")
    hover.sprite_name.clear()
    data_id = hover.data_files_id(data_dir / "MNIST" / "raw")
    assert "t10k-images" in data_id
    first = hover.sprite_name("mnist", data_id)
    assert (tmp_path / "static" / "sprites" / first).exists()
    drawn = []
    monkeypatch.setattr(hover, "sprite_png", lambda images: drawn.append(len(images)) or b"a sprite")
    hover.sprite_name.clear()  # a restarted server
    assert hover.sprite_name("mnist", data_id) == first and not drawn
    other = hover.sprite_name("mnist", data_id + ";t10k-labels-idx1-ubyte:1:2")
    assert other != first and drawn == [10_000] and (tmp_path / "static" / "sprites" / other).exists()
