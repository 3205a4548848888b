"""The time estimate on every page that starts a training (Train, GAN vs AAE, Draw a prior): the text and the Start
button say one and the same estimate, say how old the measurement behind it is, and that the machine's load
changes it; and the arithmetic and wording behind it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from page_runner import run_page, with_estimate

from aae.app.estimates import (
    Estimate,
    Rate,
    describe_estimate,
    job_estimate,
    lockstep,
    total,
    training_estimate,
    validation_images_per_epoch,
)
from aae.core.training import TrainConfig
from ui.estimates import WAITING

DURATION = re.compile(r"about \d+(?:\.\d+)? (?:s|min|h)\b")


def page_texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)]


@pytest.mark.parametrize(("page", "button"), [("train", "train_start"), ("gan_vs_aae", "duel_start"),
                                              ("draw_prior", "draw_start")])
def test_the_text_and_the_start_button_say_the_same_estimate_and_how_it_was_made(tiny_models, data_dir, page,
                                                                                 button):
    from ui import estimates

    with estimates._lock:
        estimates._MEASURED.clear()  # a first visit: nothing measured yet
    at = run_page(page)
    # Drawn at once, saying the speed is being measured; the button without an estimate until it arrives.
    assert any(WAITING in c.value for c in at.caption), page_texts(at)
    assert not DURATION.findall(at.button(key=button).label) and not at.button(key=button).disabled
    assert not [t for t in page_texts(at) if "Estimated time" in t]
    label = with_estimate(at).button(key=button).label
    assert not any(WAITING in c.value for c in at.caption)
    said = DURATION.findall(label)
    assert len(said) == 1, label  # the button says the estimate
    captions = [t for t in page_texts(at) if "Estimated time" in t]
    assert len(captions) == 1, page_texts(at)
    assert f"**{said[0]}**" in captions[0]
    # Nowhere else on the page does a different duration stand for the same run.
    others = {d for text in page_texts(at) for d in DURATION.findall(text)} - set(said)
    assert not others, others
    # the measurement's age: just now on a first visit; the rate is cached for 10 min, so an earlier test's counts
    assert re.search(r"measured (just now|\d+ min ago)", captions[0]), captions[0]
    assert "busy" in captions[0]  # and it says the machine's load changes it


def test_an_old_measurement_says_its_age_not_just_now():
    now = 1_000_000.0
    old = Estimate(seconds=100, measured_at=now - 20 * 60, images_per_second=500)
    text = describe_estimate(old, "for 1 epoch", now=now)
    assert "measured 20 min ago" in text and "just now" not in text
    fresh = Estimate(seconds=100, measured_at=now - 5, images_per_second=500)
    assert "measured just now" in describe_estimate(fresh, "for 1 epoch", now=now)


def test_runs_in_the_queue_add_up_and_runs_side_by_side_take_the_longest():
    a, b = Estimate(60, measured_at=10), Estimate(100, measured_at=5)
    assert total([a, b], at_once=1).seconds == 160
    assert total([a, b], at_once=2).seconds == 100
    assert total([a, b]).measured_at == 5  # the older measurement's age is the one to say


def test_models_in_lockstep_share_each_batch_time():
    pair = lockstep(Rate(300, 10), Rate(600, 20))
    assert pair.images_per_second == pytest.approx(200)  # 1/300 + 1/600 seconds per image
    one = job_estimate(Rate(300, 10), epochs=2, train_images=6000)
    both = job_estimate(pair, epochs=2, train_images=6000)
    assert both.seconds > one.seconds and both.measured_at == 10


def test_a_training_estimate_counts_the_validation_its_config_schedules():
    rate = Rate(1000, 0)
    subset = TrainConfig(epochs=4, validation_images=2000)
    # 2,000 images after each epoch, and the whole 10,000-image split once after the last.
    assert validation_images_per_epoch(subset, 10_000) == pytest.approx(2000 + 10_000 / 4)
    everything = TrainConfig(epochs=4, validation_images=None)
    assert validation_images_per_epoch(everything, 10_000) == pytest.approx(10_000)
    every_other = TrainConfig(epochs=4, validation_images=2000, full_validation_every=2)
    assert validation_images_per_epoch(every_other, 10_000) == pytest.approx(2000 + 2 * 10_000 / 4)
    none = TrainConfig(epochs=4, validation_images=0)
    assert validation_images_per_epoch(none, 10_000) == 0
    assert (training_estimate(rate, none, train_images=10_000).seconds
            < training_estimate(rate, subset, train_images=10_000).seconds
            < training_estimate(rate, everything, train_images=10_000).seconds)


def test_rates_are_measured_in_a_process_of_its_own_that_lingers_then_ends():
    """The server keeps none of a measurement's memory: the steps run in a process of its own, which answers
    several requests, ends by itself after `linger` seconds without one, and is started again by the next; a
    setting it refuses comes back as a ValueError with its message, and it goes on answering."""
    import os
    import time

    import torch

    from aae.app.estimates import Measurer
    from aae.core import catalog

    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 16})
    train = catalog.train_config("aae", config, epochs=1, device="cpu", batch_size=50)
    vae = catalog.build_config("vae", {"latent_dim": 2, "hidden": 16})
    measurer = Measurer(linger=3.0)
    rates = measurer.measure(("aae", config, train), ("vae", vae, catalog.train_config("vae", vae, epochs=1,
                                                                                       device="cpu")))
    first = measurer.pid
    assert len(rates) == 2 and all(rate > 0 for rate in rates) and first not in (None, os.getpid())
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            measurer.measure(("aae", config, replace(train, device="cuda")))
    assert measurer.measure(("aae", config, train))[0] > 0 and measurer.pid == first  # the same process answered
    deadline = time.monotonic() + 60
    while measurer.pid is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert measurer.pid is None  # it ended by itself
    assert measurer.measure(("aae", config, train))[0] > 0 and measurer.pid not in (None, first)


def test_a_measurement_too_old_is_measured_again_and_waited_for(tiny_models, data_dir):
    """An estimate older than its limit is not shown: the page says it is measuring again, and shows the new one when
    it arrives (not the old one, and without rerunning itself while it waits)."""
    from aae.app.estimates import MEASUREMENT_MAX_AGE
    from ui import estimates

    at = with_estimate(run_page("train"))
    with estimates._lock:
        assert estimates._MEASURED
        for key, (when, rates) in list(estimates._MEASURED.items()):
            estimates._MEASURED[key] = (when - MEASUREMENT_MAX_AGE - 1, rates)  # measured long ago
    at.run()
    assert not at.exception and any(WAITING in c.value for c in at.caption)
    assert not DURATION.findall(at.button(key="train_start").label)  # the old estimate is not shown
    with_estimate(at)
    assert re.search(r"measured just now", next(t for t in page_texts(at) if "Estimated time" in t))
