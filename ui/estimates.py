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


def measured_rate(kind: str, model_config: Any, train_config: TrainConfig) -> Rate:
    """This model's training rate on this machine with these settings (the number of epochs aside), measured at
    most MEASUREMENT_MAX_AGE seconds ago."""
    (rate,) = measured_rates((kind, model_config, train_config))
    return rate


def measured_rates(*runs: tuple[str, Any, TrainConfig]) -> tuple[Rate, ...]:
    """`measured_rate` of each (kind, model config, training config), measured together in one process."""
    return _measured(tuple((kind, model, replace(train, epochs=1)) for kind, model, train in runs))


@st.cache_data(show_spinner="Measuring this machine's speed for the estimate…", max_entries=64,
               ttl=MEASUREMENT_MAX_AGE)
def _measured(runs: tuple[tuple[str, Any, TrainConfig], ...]) -> tuple[Rate, ...]:
    now = time.time()
    return tuple(Rate(rate, now) for rate in MEASURER.measure(*runs))


def show(estimate: Estimate, what: str) -> None:
    """The estimate under the settings: what it covers, the measurement's age, the machine's load."""
    st.caption(describe_estimate(estimate, what))


def start_label(label: str, estimate: Estimate | None) -> str:
    """A Start button's label with the same estimate as the caption above it."""
    return label if estimate is None else f"{label} ({estimate.duration})"
