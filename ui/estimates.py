"""The time estimate beside every Start button (Train, GAN vs AAE, Draw a prior): one measured rate per model and
settings, kept for a while and then measured again, and one wording, so a page's text and its button say the same."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import streamlit as st

from aae.app.estimates import MEASUREMENT_MAX_AGE, MEASURER, Estimate, Rate, describe_estimate, measure_in_child
from aae.core.training import TrainConfig


def warm() -> None:
    """Start the process that measures rates ahead of need, unless it runs (it ends by itself after a minute
    without a request): a page's first estimate then waits for no process start."""
    MEASURER.warm()


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
    return tuple(Rate(rate, now) for rate in measure_in_child(*runs))


def show(estimate: Estimate, what: str) -> None:
    """The estimate under the settings: what it covers, the measurement's age, the machine's load."""
    st.caption(describe_estimate(estimate, what))


def start_label(label: str, estimate: Estimate | None) -> str:
    """A Start button's label with the same estimate as the caption above it."""
    return label if estimate is None else f"{label} ({estimate.duration})"
