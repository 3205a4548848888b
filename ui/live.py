"""Live decoding in the browser: the decoder's weights go to the page once, and JavaScript runs it on every move.

A slider move through Streamlit reruns the page (about a second on a 2-core machine); decoding itself takes
well under a millisecond. So for decoders that are plain MLPs (aae.explore.dense_layers) this sends the
weights once, as int8 with one scale per row (a quarter of float32), and the browser decodes every slider
move, every pointer move over the 2-D latent map and every frame of an interpolation itself. The page counts
the frames it draws (`window.latentLab.frames`) so a benchmark can measure the rate (bench/live_fps.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aae.checkpoints import quantize_int8
from aae.priors import DIGIT_COLOURS

PALETTE = list(DIGIT_COLOURS)  # the colours every page gives the digits


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def encode_layers(layers: list[dict]) -> list[dict[str, Any]]:
    """Dense layers as JSON for the browser: weights transposed (in × out, so a zero input skips a row), int8 with
    a float32 scale per output, biases float32, base64."""
    out = []
    for layer in layers:
        q, scale = quantize_int8(torch.from_numpy(layer["weight"]))
        out.append({"rows": int(q.shape[0]), "cols": int(q.shape[1]), "act": layer["activation"],
                    "w": _b64(q.numpy().T.copy()), "scale": _b64(scale.float().numpy()),
                    "b": _b64(layer["bias"].astype(np.float32))})
    return out


def live_decoder_html(layers: list[dict[str, Any]], *, z0: list[float], bound: float, shown: int,
                      map_points: np.ndarray | None = None, map_labels: np.ndarray | None = None,
                      path: tuple[list[float], list[float], str] | None = None, names: list[str] | None = None) -> str:
    """The component's HTML for `layers` (from `encode_layers`): sliders for the first `shown` dimensions of `z0`
    (±`bound`), the decoded digit, for a 2-D code a map of `map_points` (test codes coloured by `map_labels`) to
    move over, and with `path` (a, b, "linear" | "spherical") a play button that animates the interpolation."""
    payload = {
        "layers": layers, "z0": [float(v) for v in z0], "bound": float(bound), "shown": int(shown),
        "names": names or [f"z{i + 1}" for i in range(len(z0))], "palette": PALETTE,
        "map": None if map_points is None else {
            "x": [round(float(v), 4) for v in map_points[:, 0]], "y": [round(float(v), 4) for v in map_points[:, 1]],
            "label": [int(v) for v in map_labels]},
        "path": None if path is None else {"a": list(map(float, path[0])), "b": list(map(float, path[1])),
                                           "mode": path[2]},
    }
    return TEMPLATE.replace("__PAYLOAD__", json.dumps(payload))


def show(html: str, *, height: int) -> None:
    """Embed the component (st.iframe where this Streamlit has it; components.v1.html before that)."""
    import streamlit as st

    if hasattr(st, "iframe"):  # Streamlit ≥ 1.52; components.v1.html is deprecated there
        st.iframe(html, height=height)
    else:
        import streamlit.components.v1 as components

        components.html(html, height=height)


def height(shown: int, has_map: bool) -> int:
    return max(360 if has_map else 260, 60 + 34 * ((shown + 1) // 2)) + 50  # the map and its note fit inside


TEMPLATE = (Path(__file__).with_name("live.html")).read_text(encoding="utf-8")  # the page and its script
