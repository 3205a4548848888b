"""GAN vs AAE: train both together on the same batches and watch their samples from fixed noise side by side."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from aae.app import workers
from aae.app.estimates import job_estimate, lockstep
from aae.app.jobs import DuelFrame, DuelJob, JobSnapshot
from aae.core import catalog, spec
from aae.core.checkpoints import CLASSIFIERS as CLASSIFIER_RECIPES
from aae.core.data import DATASET_NAMES, is_available
from aae.core.metrics import coverage_trust
from aae.core.training import TrainConfig
from aae.lab.recipes import get_recipe, recipes_for
from ui import common, estimates

# -- session state ------------------------------------------------------------------------------
st.session_state.setdefault("duel_status", None)  # the last duel's status ("running", "paused", "done", ...)
st.session_state.setdefault("duel_saved", None)  # paths "Save both" wrote, as strings
st.session_state.setdefault("duel_frames_seen", 0)  # frames the history slider knew at its last draw
st.session_state.setdefault("duel_shown", None)  # {"step", "gan", "aae"}: the frame and grids on screen
st.session_state.setdefault("duel_name", common.free_model_name("duel", suffixes=("-gan", "-aae")))

jobs = common.session_jobs()
job: DuelJob | None = jobs.get("duel")
LIVE = ("pending", "running")
GENERATOR_KINDS = catalog.kinds(generator_only=True)  # every model without an encoder that draws images


# -- controls -----------------------------------------------------------------------------------

def wait_until(job: DuelJob, statuses: tuple[str, ...], timeout: float = 10.0) -> None:
    """Give the worker a moment to reach the asked-for state: it finishes its current step first, and a worker
    process that is still starting (importing torch, loading data) answers once it has started."""
    deadline = time.monotonic() + timeout
    while job.snapshot().status not in statuses and time.monotonic() < deadline:
        time.sleep(0.02)


def pause(job: DuelJob) -> None:
    job.pause()
    wait_until(job, ("paused", "done", "cancelled", "failed"))


def stop(job: DuelJob) -> None:
    job.cancel()
    wait_until(job, ("done", "cancelled", "failed"))


def save_both(job: DuelJob, name: str) -> None:
    try:
        paths = job.save(common.runs_dir() / name)
    except (RuntimeError, ValueError, OSError) as error:
        st.session_state["duel_save_error"] = str(error)
        return
    st.session_state["duel_save_error"] = None
    st.session_state["duel_saved"] = [str(p) for p in paths]
    st.session_state["duel_name"] = common.free_model_name("duel", suffixes=("-gan", "-aae"))


def controls(job: DuelJob, snap: JobSnapshot) -> None:
    """Pause / Resume / Stop and the progress line."""
    status = snap.status
    cols = st.columns([1, 1, 1, 5])
    cols[0].button("Pause", key="duel_pause", on_click=pause, args=(job,), disabled=status != "running")
    cols[1].button("Resume", key="duel_resume", on_click=job.resume, disabled=status != "paused")
    cols[2].button("Stop", key="duel_stop", on_click=stop, args=(job,), disabled=status not in ("running", "paused"),
                   help="End the run; what was trained so far can still be saved.")
    words = {"pending": "Starting", "running": "Training", "paused": "Paused", "done": "Done",
             "cancelled": "Stopped", "failed": "Failed"}[status]
    cols[3].progress(snap.fraction, text=(f"{words} · epoch {min(snap.epoch + 1, snap.epochs)}/{snap.epochs} · "
                                          f"step {snap.step}/{snap.total_steps or '?'} · "
                                          f"{snap.images_per_second:,.0f} images/s · {snap.elapsed:.0f} s"))


# -- what the duel shows ------------------------------------------------------------------------

def pick_frame(frames: list[DuelFrame]) -> DuelFrame:
    """The latest frame, or the one chosen on the history slider (which follows the latest until moved back)."""
    n = len(frames)
    current = st.session_state.get("duel_frame")
    follow = current is None or current >= st.session_state["duel_frames_seen"] or current > n
    # Set every time: a new maximum makes a new slider, which takes its value from here.
    st.session_state["duel_frame"] = n if follow else current  # at the newest frame: stay there as frames arrive
    st.session_state["duel_frames_seen"] = n
    if n < 2:
        return frames[-1]
    index = st.slider("Scroll back through history", min_value=1, max_value=n, key="duel_frame",
                      help="Frame number; the newest is at the right end.")
    return frames[index - 1]


# The duel's two sides: the losses each records, and the title of the left axis. A side with a reconstruction
# loss (hundreds) draws it on the left and its adversarial losses on a second axis.
SIDES = {"gan": (("disc", "gen"), "GAN loss"), "aae": (("recon", "disc", "gen"), "reconstruction")}


def loss_figure(losses: list[dict[str, float]], model: str, step: int) -> go.Figure:
    """The side's losses against the step; a reconstruction (hundreds) on its own left axis."""
    keys, left_title = SIDES[model]
    two_axes = "recon" in keys
    fig = go.Figure()
    steps = [row["step"] for row in losses]
    for key in keys:
        on_left = key == "recon" or not two_axes
        fig.add_trace(go.Scatter(x=steps, y=[row.get(f"{model}_{key}") for row in losses], mode="lines", name=key,
                                 yaxis="y" if on_left else "y2", line=None if on_left else {"dash": "dot"}))
    fig.add_vline(x=step, line_dash="dot", line_color="grey")  # the frame on screen
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="step",
                      yaxis_title=left_title, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    if two_axes:
        fig.update_layout(yaxis2={"title": "adversarial (dotted)", "overlaying": "y", "side": "right",
                                  "showgrid": False})
    return fig


def coverage_figure(shares: list[float], model: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=[str(i) for i in range(10)], y=shares, marker_color="#4c78a8"))
    fig.add_hline(y=0.1, line_dash="dot", line_color="grey", annotation_text="fair share")
    fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_range=[0, max(0.3, *shares)],
                      title=f"{model.split('_')[-1].upper()}: share of samples per predicted digit",
                      xaxis_title="digit")
    return fig


def show_coverage(coverage: dict[str, Any] | None, model: str) -> None:
    if coverage is None:
        return
    st.session_state[f"duel_coverage_{model}_confidence"] = coverage.get("confidence")
    st.session_state[f"duel_coverage_{model}_frechet"] = coverage.get("frechet")
    trusted, why_not = coverage_trust(coverage)
    if not trusted:
        # Noise gets a class from the classifier too: counting its "classes" would call noise diverse.
        st.session_state[f"duel_coverage_hidden_{model}"] = True
        st.caption(f"Class coverage is hidden until the samples look like digits: {why_not}.")
        return
    st.session_state[f"duel_coverage_hidden_{model}"] = False
    a, b = st.columns(2)
    a.metric("Classes covered", f"{coverage['modes_covered']}/10",
             help="Digits with at least half their fair share (5 %) of the samples, by the MNIST classifier.")
    b.metric("Normalised entropy", f"{abs(coverage['normalized_entropy']):.2f}",  # abs: no "-0.00" for one class
             help="Of the class shares: 1 = every digit equally often, 0 = one digit only (mode collapse).")
    st.plotly_chart(coverage_figure(coverage["shares"], model), key=f"duel_coverage_{model}")


def show_duel(job: DuelJob) -> None:
    snap = job.snapshot()
    frames = snap.frames
    st.session_state["duel_status"] = snap.status
    controls(job, snap)
    if snap.status == "failed":
        st.error(f"The run failed: {snap.error}")
    if not frames:
        if snap.status in LIVE or snap.status == "paused":
            st.info(f"The first frame comes after {job.info.frame_every} steps ({snap.message or 'starting'}).")
        return
    frame = pick_frame(frames)
    st.caption(f"Frame {frames.index(frame) + 1} of {len(frames)}: step {frame.step} "
               f"(epoch {frame.epoch:.2f}). Both grids decode the same fixed noise at every frame.")
    grids = {"gan": common.grid_image(frame.gan_samples[:100], nrow=10, scale=2),
             "aae": common.grid_image(frame.aae_samples[:100], nrow=10, scale=2)}
    st.session_state["duel_shown"] = {"step": frame.step, **grids}
    for column, model in zip(st.columns(2), SIDES):
        with column:
            st.subheader(model.upper())
            st.image(grids[model], caption=f"{model.upper()} samples at step {frame.step}")
            if snap.losses:
                st.plotly_chart(loss_figure(snap.losses, model, frame.step), key=f"duel_losses_{model}")
            show_coverage(getattr(frame, f"{model}_coverage"), model)
    if job.coverage_error:
        st.warning(f"Coverage is off for this run: {job.coverage_error}")
    elif not has_classifier:
        recipe = CLASSIFIER_RECIPES[job.dataset]  # the shipped classifier's recipe and folder name
        st.info(f"Class coverage (mode collapse as a number) needs the {job.dataset} classifier in `{classifier}`. "
                f"Train it with `bash scripts/train_shipped.sh`, or only it with "
                f"`ONLY={recipe} bash scripts/train_shipped.sh`.")


@st.fragment(run_every=1.0)
def live_duel(job: DuelJob) -> None:
    """Redraw every second while training; once paused or finished, a full rerun draws it without polling."""
    if job.snapshot().status not in LIVE:
        st.rerun()
    show_duel(job)


def save_section(job: DuelJob, snap: JobSnapshot) -> None:
    st.subheader("Save both models")
    left, right = st.columns([3, 2])
    name = left.text_input("Name", key="duel_name", help="Saved as <name>-gan and <name>-aae in the runs folder.")
    overwrite = right.checkbox("Overwrite models of yours with these names", key="duel_overwrite")
    name = name.strip()
    problem = common.model_name_problem(name, overwrite=overwrite, folders=(f"{name}-gan", f"{name}-aae")) \
        if name else "Give the pair a name."
    savable = snap.status in ("paused", "cancelled", "done")
    if problem:
        st.error(problem)
    st.button("Save both", key="duel_save", on_click=save_both, args=(job, name), disabled=not savable or bool(problem),
              help=None if savable else "Pause or stop the run first.")
    if st.session_state.get("duel_save_error"):
        st.error(f"Could not save: {st.session_state['duel_save_error']}")
    elif st.session_state["duel_saved"]:
        names = ", ".join(f"`{p}`" for p in st.session_state["duel_saved"])
        st.success(f"Saved {names}. Both are now in the model picker and on the home page.")


# -- the page -----------------------------------------------------------------------------------
common.page_header(
    "GAN vs AAE",
    "A GAN and an AAE trained together, on the same batches and device, each decoding its own fixed noise at every "
    "frame: watch the samples evolve side by side, scroll back through the history, and see mode collapse as a "
    "number.",
    notice=(
        "both models see the same batches. The AAE's samples look like digits early (its decoder learns by "
        "reconstruction): with the defaults below, after about 200 of the run's 1,000 steps. The GAN's start as "
        "blobs and become rough digits over the whole run (the estimate by the Start button says how long it takes "
        "on this machine): its generator learns only through the discriminator. Coverage is shown only once samples "
        "are near real digits by the Fréchet distance of the classifier's features, because the classifier also "
        "gives blobs classes with confidence (the gan-small recipe, five times cheaper, never drew digits in the run)."
    ),
)
current = job.snapshot() if job is not None else None
busy = current is not None and current.status in (*LIVE, "paused")

with st.expander("Settings", expanded=job is None):
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", min_value=1, max_value=200, value=10, step=1, key="duel_epochs")
    batch_size = a.number_input("Batch size", min_value=10, max_value=1000, value=100, step=10, key="duel_batch_size")
    seed = b.number_input("Seed", min_value=0, max_value=catalog.SEED_MAX, value=0, step=1, key="duel_seed")
    frame_every = b.number_input("Frame every N steps", min_value=1, max_value=10_000, value=100, step=10,
                                 key="duel_frame_every", help="How often both grids are kept for the history.")
    latent_dim = c.number_input("AAE latent dimension", min_value=1, max_value=100, value=8, step=1,
                                key="duel_latent_dim")
    hidden = c.number_input("AAE hidden width", min_value=16, max_value=2000, value=256, step=16, key="duel_hidden",
                            help="256 keeps the CPU fast; the paper uses 1000.")
    noise_dim = d.number_input("GAN noise dimension", min_value=2, max_value=200, value=100, step=1,
                               key="duel_noise_dim", help="The seeds' GAN draws 100-D noise.")
    gan_kind = d.selectbox("Generator model", GENERATOR_KINDS, key="duel_gan_kind", format_func=catalog.label,
                           help="Any model of the catalogue that draws images without an encoder.")
    gan_recipe = d.selectbox(
        "Its recipe", [None, *(r.name for r in recipes_for(gan_kind))], key=f"duel_gan_recipe_{gan_kind}",
        format_func=lambda name: "default: the model's own settings" if name is None else name,
        help="The generator's networks and options from a recipe of that model (`aae train --recipe NAME`); its "
             "noise dimension, epochs, batch and rate are set here. The GAN's default is the seeds' GAN (dense "
             "generator 256-512-1024, discriminator 64 channels) with feature matching against mode collapse; "
             "gan-small is about five times faster on a CPU, but its samples were not yet digits after the "
             "1,000-step run; gan-plain, without feature matching, collapses onto a few digits.")
    if gan_recipe is not None:
        d.caption(get_recipe(gan_recipe).summary)
    dataset = a.selectbox("Dataset", DATASET_NAMES, key="duel_dataset",
                          help="Both models train on it; coverage uses that dataset's classifier.")
    train_limit = b.number_input("Training images", min_value=200, max_value=60_000, value=10_000, step=100,
                                 key="duel_limit", placeholder="all",
                                 help="A slice keeps a run short on a CPU (10 epochs of 10,000 images = 1,000 steps); "
                                      "empty: all 50,000 training images.")
    st.caption(f"Both models train on **{common.device_description()}**. The AAE's hidden width defaults to 256 "
               "for CPU speed (the paper uses 1000); it has the paper's Gaussian prior N(0, 5²I). The GAN has a "
               "convolutional discriminator like the seeds' and a dense generator, or a "
               "DCGAN-style convolutional one.")

classifier = common.CLASSIFIERS[dataset]
has_classifier = (classifier / "card.json").is_file()
has_data = is_available(dataset, common.data_dir())
if not has_data:
    st.info(common.data_missing_message(common.data_dir(), dataset))
too_big = train_limit is not None and batch_size > train_limit
if too_big:
    st.error(f"The batch size ({batch_size}) is larger than the {train_limit} training images: lower it.")
settings, estimate = None, None
try:
    train_config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), seed=int(seed), device="auto",
                               log_every=max(1, int(frame_every) // 10))
    recipe_values = get_recipe(gan_recipe).run if gan_recipe is not None else {}
    gan_config = spec.resolve({**recipe_values, "model": gan_kind, "latent_dim": int(noise_dim)}).model
    aae_config = catalog.build_config("aae", {"latent_dim": int(latent_dim), "hidden": int(hidden)})
    settings = (train_config, gan_config, aae_config)
except ValueError as error:
    st.error(str(error))
if settings is not None and not too_big:
    # Both models take every batch: the pair's rate is the harmonic sum of each one's, measured on this device.
    gan_train = replace(train_config, lr=gan_config.training_defaults()["lr"])  # the GAN trains at its own rate
    try:
        rates = estimates.rates_when_ready((gan_kind, gan_config, gan_train), ("aae", aae_config, train_config))
    except (ValueError, RuntimeError) as error:
        st.warning(f"No time estimate: {error}")
        rates = None
    if rates is not None:  # None: being measured, and the page is drawn again when it has been
        n_images = int(train_limit) if train_limit else 50_000
        # no validation: a duel shows frames
        estimate = job_estimate(lockstep(*rates), epochs=int(epochs), train_images=n_images)
        st.session_state["duel_estimate"] = estimate.seconds
        estimates.show(estimate, f"for {int(epochs)} epochs of {n_images:,} images for the pair, with the worker's "
                                 "start (drawing the frames adds a little)")
start = st.button(estimates.start_label("Start", estimate), key="duel_start",
                  type="primary", disabled=busy or not has_data or too_big or settings is None,
                  help="Pause or stop the current run first." if busy else "A new run replaces the last one.")
if start and not busy and has_data and not too_big and settings is not None:
    train_config, gan_config, aae_config = settings
    try:
        # In a worker process of its own (aae.app.workers): the server only reads its progress.
        job = workers.start_job("duel", gan_config=gan_config, aae_config=aae_config,
                                train_config=train_config, frame_every=int(frame_every), data_dir=common.data_dir(),
                                train_limit=int(train_limit) if train_limit else None,
                                dataset=dataset, classifier=classifier if has_classifier else None)
    except ValueError as error:
        st.error(str(error))
    else:
        jobs["duel"] = job
        st.session_state.update(duel_status="running", duel_saved=None, duel_save_error=None, duel_frames_seen=0)
        st.session_state.pop("duel_frame", None)
        st.rerun()  # redraw with Start disabled and the live view below

RECORDED = common.ROOT / "docs" / "recorded"


@common.releasable
@st.cache_resource(show_spinner=False, max_entries=1)  # 3 MB shared by every session, not a copy for each rerun
def recorded_duel(mtime: float) -> tuple[dict, dict]:
    arrays = np.load(RECORDED / "duel.npz")
    return {k: arrays[k] for k in arrays.files}, json.loads((RECORDED / "duel.json").read_text())


def show_recorded() -> None:
    """A full duel recorded ahead of time (scripts/record_duel.py): scrub its history at once, no training."""
    frames, meta = recorded_duel((RECORDED / "duel.npz").stat().st_mtime)
    settings = meta["settings"]
    st.caption(f"Recorded ahead of time with the same engine: {settings['gan']} against an AAE of "
               f"{settings['aae']}, {settings['train_images']:,} images, {settings['epochs']} epochs, batch "
               f"{settings['batch_size']}, seed {settings['seed']} — {meta['seconds']:.0f} s on {meta['device']}.")
    n = len(frames["step"])
    index = st.slider("Frame", 1, n, n, key="duel_recorded_frame") - 1 if n > 1 else 0
    coverage = meta["coverage"][index]
    st.session_state["duel_recorded_shown"] = int(frames["step"][index])
    for column, model in zip(st.columns(2), ("gan", "aae")):
        with column:
            images = torch.from_numpy(frames[model][index]).float().div(255).unsqueeze(1)
            step, epoch = int(frames["step"][index]), float(frames["epoch"][index])
            st.image(common.grid_image(images, nrow=10, scale=2), caption=f"{model.upper()} at step {step} "
                                                                          f"(epoch {epoch:.1f})")
            show_coverage(coverage[model], f"recorded_{model}")


if job is None and (RECORDED / "duel.npz").is_file():
    with st.expander("A recorded run: scrub through a full duel without training", expanded=True):
        show_recorded()

if job is not None:
    st.divider()
    # Decide on the status read at the top (the Start button used it): a run that ends after that read is
    # drawn by the live view, which then reruns the page, so Start never stays disabled after the end.
    if current is not None and current.status in LIVE:
        live_duel(job)
    else:
        show_duel(job)
    save_section(job, job.snapshot())
