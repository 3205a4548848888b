"""The time estimate beside every Start button (Train, GAN vs AAE, Draw a prior): one measured rate per model and
settings, kept for a while and then measured again, and one wording, so a page's text and its button say the same."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import streamlit as st

from aae.app.estimates import MEASUREMENT_MAX_AGE, MEASURER, Estimate, Rate, describe_estimate
from aae.core.training import TrainConfig

WARM_DELAY = 20.0  # seconds after a page run before the measuring process starts: not during the first pages
_warming = threading.Lock()  # held while a start is scheduled


def warm(delay: float = WARM_DELAY) -> None:
    """Start the process that measures rates `delay` seconds from now, unless it runs or a start is scheduled (it
    ends by itself after a minute without a request): a later page's estimate then waits for no process start,
    and the process's own start does not slow the pages being drawn now."""
    if MEASURER.pid is not None or not _warming.acquire(blocking=False):
        return

    def start() -> None:
        try:
            MEASURER.warm()
        finally:
            _warming.release()

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()


# Rates measured, shared by every session: key -> (when, the rates or the error the measurement raised).
_MEASURED: dict[str, tuple[float, tuple[Rate, ...] | Exception]] = {}
_MEASURING: set[str] = set()
_KEEP = 64  # measurements kept (the oldest go first)
_lock = threading.Lock()
WAITING = "Measuring this machine's speed for the time estimate…"


def rate_when_ready(kind: str, model_config: Any, train_config: TrainConfig) -> Rate | None:
    """`rates_when_ready` of one model."""
    rates = rates_when_ready((kind, model_config, train_config))
    return None if rates is None else rates[0]


def rates_when_ready(*runs: tuple[str, Any, TrainConfig]) -> tuple[Rate, ...] | None:
    """The training rate of each (kind, model config, training config) on this machine (the number of epochs aside),
    measured together in one process at most MEASUREMENT_MAX_AGE seconds ago; a measurement's error is raised
    (ValueError or RuntimeError: these settings cannot train). When there is none yet, the measurement starts in the
    background and this returns None, after drawing a line that says so and reruns the page once it has arrived:
    a first visit is drawn without waiting for a process to start and measure (2–3 s)."""
    runs = tuple((kind, model, replace(train, epochs=1)) for kind, model, train in runs)
    key = repr(runs)  # every field of the configs (dataclasses)
    with _lock:
        measured = _MEASURED.get(key)
        if measured is not None and time.time() - measured[0] <= MEASUREMENT_MAX_AGE:
            if isinstance(measured[1], Exception):
                raise measured[1]
            return measured[1]
        _MEASURED.pop(key, None)  # too old: measured again (and the line below waits for the new one)
        if key not in _MEASURING:
            _MEASURING.add(key)
            threading.Thread(target=_measure, args=(key, runs), name="measure-rates", daemon=True).start()
    _waiting(key)
    return None


def _measure(key: str, runs: tuple[tuple[str, Any, TrainConfig], ...]) -> None:
    try:
        result: tuple[Rate, ...] | Exception = tuple(Rate(rate, time.time()) for rate in MEASURER.measure(*runs))
    except (ValueError, RuntimeError) as error:
        result = error
    except Exception as error:  # anything else: the page says there is no estimate, and why
        result = RuntimeError(f"the speed measurement failed ({type(error).__name__}: {error})")
    with _lock:
        _MEASURED[key] = (time.time(), result)
        _MEASURING.discard(key)
        for old in sorted(_MEASURED, key=lambda k: _MEASURED[k][0])[:max(0, len(_MEASURED) - _KEEP)]:
            del _MEASURED[old]


@st.fragment(run_every=0.5)
def _waiting(key: str) -> None:
    with _lock:
        arrived = key in _MEASURED
    if arrived:
        st.rerun(scope="app")  # the page again, with the estimate
    st.caption(WAITING)


def show(estimate: Estimate, what: str) -> None:
    """The estimate under the settings: what it covers, the measurement's age, the machine's load."""
    st.caption(describe_estimate(estimate, what))


def start_label(label: str, estimate: Estimate | None) -> str:
    """A Start button's label with the same estimate as the caption above it."""
    return label if estimate is None else f"{label} ({estimate.duration})"
