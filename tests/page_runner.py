"""Open a page in the real Streamlit runtime (AppTest) on a chosen model, with session state preset."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def run_page(page: str, **state) -> AppTest:
    """Run pages/`page`.py once (with `state` in st.session_state); no exception."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, model: Path, **state) -> AppTest:
    """Run pages/`page`.py once with `model` picked (and `state` in st.session_state); no exception."""
    return run_page(page, model_path=str(model), **state)


def values(array) -> np.ndarray:
    """A plotly JSON array: a list, or numpy data packed as {"dtype", "bdata" (base64)}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)
