"""Open a page through the app (AppTest of app.py, switched to views/`page`.py) on a chosen model, with session
state preset: the page runs inside app.py's navigation, as it does for a user."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def page_app(page: str, *, timeout: float = 60) -> AppTest:
    """app.py, switched to views/`page`.py and not yet run (a page's URL path is its file's name, so the switch
    needs no run of the home page first)."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout).switch_page(f"views/{page}.py")


def run_page(page: str, **state) -> AppTest:
    """Run views/`page`.py through the app once (with `state` in st.session_state); no exception."""
    at = page_app(page)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, model: Path, **state) -> AppTest:
    """Run views/`page`.py once with `model` picked (and `state` in st.session_state); no exception."""
    return run_page(page, model_path=str(model), **state)


def values(array) -> np.ndarray:
    """A plotly JSON array: a list, or numpy data packed as {"dtype", "bdata" (base64)}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def with_estimate(at: AppTest, timeout: float = 180) -> AppTest:
    """Run `at` again until its time estimate has been measured: a page draws a line saying the speed is being
    measured and reruns itself when it arrives (in a browser; AppTest runs no timers, so the test runs it again)."""
    from ui.estimates import WAITING

    deadline = time.monotonic() + timeout
    while any(WAITING in c.value for c in at.caption):
        assert time.monotonic() < deadline, "the time estimate never arrived"
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
    return at
