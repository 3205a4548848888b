"""Live decoding in the browser: the decoder's weights go to the page once, and JavaScript runs it on every move.

A slider move through Streamlit reruns the page (about a second on a 2-core machine); decoding itself takes
well under a millisecond. So for decoders that are plain MLPs (aae.app.explore.dense_layers) this sends the
weights once, as int8 with one scale per row (a quarter of float32), and the browser decodes every slider
move, every pointer move over the 2-D latent map and every frame of an interpolation itself. When a move ends
(a slider let go, a click on the map) the component returns the code to the page, which then redraws what
depends on it; while it moves, the component keeps the address bar's z1, z2, … in step. The page counts the
frames it draws (`window.latentLab.frames`) so a benchmark can measure the rate (bench/live_fps.py).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
import torch

from aae.core.checkpoints import quantize_int8
from aae.core.prior_images import DIGIT_COLOURS

PALETTE = list(DIGIT_COLOURS)  # the colours every page gives the digits
_component = components.declare_component("latent_lab_live_decoder", path=str(Path(__file__).with_name("live_decoder")))


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


def accent_colour() -> str:
    """The app's primary colour (its theme's, or Streamlit's default red), for the component's own controls."""
    try:
        return st.get_option("theme.primaryColor") or "#FF4B4B"
    except Exception:  # an option this Streamlit does not know
        return "#FF4B4B"


def payload(layers: list[dict[str, Any]], *, start: Any, z0: list[float], z: list[float] | None = None,
            bound: float, shown: int, map_points: np.ndarray | None = None, map_labels: np.ndarray | None = None,
            classes: list[str] | None = None, path: tuple[list[float], list[float], str] | None = None,
            url: str | None = None, report: bool = False) -> dict[str, Any]:
    """What the component draws: sliders for the first `shown` dimensions of the code `z` (±`bound`; `z0`, the
    start, is where Reset goes), the decoded digit, for a 2-D code a map of `map_points` (test codes coloured by
    `map_labels`, named by `classes`) with axes and a legend, and with `path` (a, b, "linear" | "spherical") a play
    button that animates the interpolation. `url`: the address bar's parameter prefix it keeps in step ("z" for
    z1, z2, …); `report`: send the code back when a move ends. A new `start` rebuilds it; a new `z` only moves it."""
    z = list(z0 if z is None else z)
    return {
        "id": hashlib.sha1(repr((start, shown, round(bound, 4), len(layers))).encode()).hexdigest()[:16],
        "layers": layers, "z0": [float(v) for v in z0], "z": [float(v) for v in z], "bound": float(bound),
        "shown": int(shown), "names": [f"z{i + 1}" for i in range(len(z0))], "palette": PALETTE,
        "accent": accent_colour(), "url": url, "report": bool(report),
        "map": None if map_points is None else {
            "x": [round(float(v), 4) for v in map_points[:, 0]], "y": [round(float(v), 4) for v in map_points[:, 1]],
            "label": [int(v) for v in map_labels],
            "classes": list(classes) if classes is not None else [str(k) for k in range(10)]},
        "path": None if path is None else {"a": list(map(float, path[0])), "b": list(map(float, path[1])),
                                           "mode": path[2]},
    }


def show(data: dict[str, Any], *, key: str) -> dict[str, Any] | None:
    """Draw the component; returns the last code it sent back ({"z": [...], "seq": "..."}) or None."""
    return _component(payload=data, key=key, default=None)
