"""The test digit's image under the pointer, on every latent map whose points are test digits.

Plotly's hover labels are text only, and a hover event sent back to Python would rerun the page (about a
second here) for each point. So the browser does it: the test set goes to the browser once as one PNG sprite
(10,000 digits, 100 to a row: about 1.7 MB, served by Streamlit's static file serving and cached by the browser),
and a small script on the page listens to Plotly's hover events. A trace that `ui.plots.add_digit_traces` drew
carries `meta = "test-digits:<dataset>"` and each point its test index (`customdata[1]`); hovering one shows its
image, enlarged, beside the pointer. Traces without that mark keep their plain text labels.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import streamlit as st
import torch

SPRITE_COLUMNS = 100  # digits per row of the sprite; the script finds digit i at (i % 100, i // 100) × 28 px
META_PREFIX = "test-digits:"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"  # what `[server] enableStaticServing` serves


def sprite_png(images: torch.Tensor) -> bytes:
    """Images (N, 1, 28, 28) in [0, 1] as one greyscale PNG, `SPRITE_COLUMNS` to a row, in index order."""
    from io import BytesIO

    from PIL import Image

    pixels = (images.reshape(-1, 28, 28).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    rows = -(-len(pixels) // SPRITE_COLUMNS)
    sheet = np.zeros((rows * SPRITE_COLUMNS, 28, 28), dtype=np.uint8)
    sheet[:len(pixels)] = pixels
    sheet = sheet.reshape(rows, SPRITE_COLUMNS, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, SPRITE_COLUMNS * 28)
    buffer = BytesIO()
    Image.fromarray(sheet, mode="L").save(buffer, format="PNG")  # level 6: 0.3 s, 1.7 MB (level 9: 2.9 s, 1.6 MB)
    return buffer.getvalue()


SPRITE_FORMAT = 1  # part of every sprite's name: raise it when sprite_png draws differently


@st.cache_resource(show_spinner=False, max_entries=4)
def sprite_name(dataset: str, data_id: str) -> str | None:
    """The file name, under static/sprites/, of `dataset`'s test-set sprite: written once (atomically), named by the
    data files it is drawn from (`data_id`: their names, sizes and times) and the sprite's layout, so a browser never
    shows a stale one and a later start finds it without drawing it again (0.7 s of a first visit when it was named
    by its content). None when the data is absent or the folder is read-only."""
    from ui.caches import test_set

    key = hashlib.sha256(f"{dataset}|{data_id}|{SPRITE_COLUMNS}|{SPRITE_FORMAT}".encode()).hexdigest()[:12]
    name = f"{dataset}-test-{key}.png"
    target = STATIC_DIR / "sprites" / name
    if target.exists():
        return name
    data = test_set(dataset)
    if data is None:
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{name}.{os.getpid()}.tmp")
        temporary.write_bytes(sprite_png(data[0]))
        os.replace(temporary, target)
    except OSError:
        return None
    return name


def data_files_id(folder: Path) -> str:
    """What identifies the files in `folder`: each one's name, size and modification time ("" when it is absent)."""
    try:
        return ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in sorted(folder.iterdir()))
    except OSError:
        return ""


def enable(dataset: str) -> None:
    """Show test digits' images on hover over this page's latent maps (of `dataset`'s test set). Does nothing
    (the maps keep their text labels) where Streamlit cannot run the script or serve the sprite."""
    import inspect

    from aae.core.data import DATASET_FOLDERS
    from ui.caches import data_dir

    if ("unsafe_allow_javascript" not in inspect.signature(st.html).parameters
            or not st.get_option("server.enableStaticServing") or dataset not in DATASET_FOLDERS):
        return  # (a card naming a dataset this app does not know gets no images, never a script built from it)

    name = sprite_name(dataset, data_files_id(data_dir() / DATASET_FOLDERS[dataset] / "raw"))
    if name is None:
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = "/" + "/".join(part for part in (base, "app/static/sprites", name) if part)
    script = SCRIPT.replace("__CONFIG__", json.dumps({"dataset": dataset, "url": url, "columns": SPRITE_COLUMNS,
                                                     "prefix": META_PREFIX}))
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


SCRIPT = (Path(__file__).with_name("hover.js")).read_text(encoding="utf-8")
