"""Train: configure any model the CLI can train, train it in the background, watch it learn, then use it.

The form is generated from the catalogue (aae.core.catalog): the model list, each model's config fields with
help from their comments, and the engine's options; a recipe (aae.lab.recipes) fills it. What it will run is one
run specification (aae.core.spec), shown as `aae train --dry-run` prints it. Nothing here knows a model kind.
"""

from __future__ import annotations

import time
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from aae.app import workers
from aae.app.estimates import training_estimate
from aae.app.explore import manifold_image
from aae.app.jobs import Job, JobSnapshot
from aae.core import catalog, spec
from aae.core.data import DATASET_FOLDERS, DATASET_NAMES, is_available
from aae.core.priors import PRIOR_NAMES, PriorConfig, make_prior
from aae.lab.recipes import all_recipes, get_recipe
from ui import common, estimates, forms

# -- session state ------------------------------------------------------------------------------
st.session_state.setdefault("train_status", None)  # the last job's status ("running", "done", ...), for tests
st.session_state.setdefault("train_checkpoint", None)  # where the last finished job saved its model
st.session_state.setdefault("train_announced", None)  # the checkpoint already made the picker's choice
st.session_state.setdefault("train_name", common.free_model_name("my-model"))
# The page's own starting values, here rather than in the widgets: a recipe sets them too (aae.lab.recipes).
st.session_state.setdefault("train_epochs", 5)
st.session_state.setdefault("train_seed", 0)

# The form's own essentials; the rest of TrainConfig is in "Optimiser", except what the job schedules itself.
ESSENTIAL_TRAINING = ("epochs", "batch_size", "lr", "seed")
SCHEDULED = ("device", "log_every", "sample_every", "n_preview", "progress_images", "validation_images")
MAIN_FIELDS = ("prior", "latent_dim", "hidden")  # drawn at the top; every other field in "All options"
# The job schedules its own reports and previews: about 300 loss points and four previews per epoch.
SCHEDULE = {"device": "auto", "log_every": 0, "sample_every": -1}
RECIPES = tuple(r.name for r in all_recipes() if r.kind in catalog.kinds(trainable=True))  # what this page trains
jobs = common.session_jobs()
job: Job | None = jobs.get("train")

# A job that finished since the last full run: select its model everywhere and free the name field
# (before the widgets exist, since a widget's value cannot change once it is drawn).
current = job.snapshot() if job is not None else None  # read once: the form and the Start button agree on it
if current is not None:
    finished = current
    st.session_state["train_status"] = current.status
    if finished.status == "done" and st.session_state["train_announced"] != finished.checkpoint:
        st.session_state["train_announced"] = st.session_state["model_path"] = finished.checkpoint
        st.session_state["train_checkpoint"] = finished.checkpoint
        st.session_state["train_name"] = common.free_model_name(st.session_state["train_name"])


# -- the run the form asks for, as the CLI resolves it -------------------------------------------

def run_spec(values: dict[str, Any]) -> spec.RunSpec:
    """The run the widgets ask for (fields left empty take the kind's defaults, as `aae train` gives them) and the
    page's own schedule; ValueError with a message for people."""
    run = spec.resolve({k: v for k, v in {**values, **SCHEDULE}.items() if v is not None})
    limit, batch = run.data.train_limit, run.train.batch_size  # the kind's default when the field is empty
    if limit is not None and batch > limit:
        raise ValueError(f"The batch size ({batch}) is larger than the {limit} training images: lower it.")
    return run


def form_values(run: spec.RunSpec) -> dict[str, Any]:
    """{widget key: what it holds} for every field of `run` that the form has a widget for."""
    values = run.values()
    shown: dict[str, Any] = {"train_model": run.kind, "train_dataset": run.data.dataset,
                             "train_limit": run.data.train_limit}
    if "prior" in values:
        shown["train_prior"] = values["prior"] if values["prior"] in PRIOR_NAMES else None
        shown["train_prior_std"] = float(values["prior_std"])
    for name in (*MAIN_FIELDS, *ESSENTIAL_TRAINING):
        if name in values and name != "prior":
            shown[f"train_{name}"] = float(values[name]) if name == "lr" else values[name]
    for option in catalog.config_options(catalog.entry(run.kind).config):
        if option.name not in MAIN_FIELDS and option.base_type is not PriorConfig:
            shown[f"train_{option.name}"] = forms.widget_value(option, values[option.name])
    for option in catalog.training_options(run.kind):
        if option.name not in ESSENTIAL_TRAINING + SCHEDULED:
            shown[f"train_engine_{option.name}"] = forms.widget_value(option, values[option.name])
    return shown


def clear_form() -> None:
    """Every field of the chosen model back to empty: the model's defaults."""
    for key in form_values(spec.resolve({}, kind=st.session_state["train_model"])):
        if key != "train_model":
            st.session_state.pop(key, None)


def apply_recipe() -> None:
    """Fill the form with the chosen recipe's resolved values; none: empty it. A callback, so the widgets are
    drawn with them."""
    name = st.session_state["train_recipe"]
    if name is None:
        clear_form()
    else:
        st.session_state.update(form_values(spec.resolve(get_recipe(name).run)))


def leave_recipe() -> None:
    """Another model chosen by hand: a recipe's values were for its own model, so the form starts from the new
    model's defaults."""
    if st.session_state.get("train_recipe") is not None:
        st.session_state["train_recipe"] = None
        clear_form()


def missing_data_message(dataset: str) -> str:
    root = common.data_dir()
    return (f"{dataset} is not in `{(root / DATASET_FOLDERS[dataset] / 'raw').resolve()}`, so training is off. "
            f"Put its four IDX files there, or start the app with `AAE_DATA_DIR` pointing at a folder that holds "
            f"`{DATASET_FOLDERS[dataset]}/raw` (for example `AAE_DATA_DIR=../shared/data streamlit run serve.py`), "
            "or run `aae train --dataset ...` once online so torchvision downloads it.")


# -- drawing a job's progress -------------------------------------------------------------------

def loss_figure(losses: list[dict[str, float]]) -> go.Figure:
    """One line per logged loss against the step.

    A summed reconstruction loss (hundreds) would flatten the adversarial losses (about 1), so when both
    exist the adversarial ones and the discriminator's accuracy get their own axis at the right.
    """
    fig = go.Figure()
    steps = [row["step"] for row in losses]
    keys = [k for k in losses[-1] if k != "step"] if losses else []
    adversarial = [k for k in keys if k.startswith(("disc", "gen"))]
    split = len(adversarial) < len(keys)
    for key in keys:
        on_right = split and key in adversarial
        fig.add_trace(go.Scatter(x=steps, y=[row.get(key) for row in losses], mode="lines", name=key,
                                 yaxis="y2" if on_right else "y", line={"dash": "dot"} if on_right else None))
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="step",
                      yaxis_title="loss", legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    if split:
        fig.update_layout(yaxis_title="reconstruction / KL", yaxis2={
            "title": "adversarial (dotted)", "overlaying": "y", "side": "right", "showgrid": False})
    return fig


# The live view redraws its progress every 2 s; the loss chart at most every LOSS_REDRAW_SECONDS (and at the end).
# A figure that did not change is sent again as the same object, which the browser does not plot again: building
# and plotting the growing chart on every redraw took CPU from the job on a 2-core machine (bench/live_job.py).
LOSS_REDRAW_SECONDS = 6.0


def cached_figure(key: str, version: Any, build) -> go.Figure:
    """The figure `build()` made for `version` (rebuilt only when the version changes), kept per session."""
    held = st.session_state.get(key)
    if held is None or held[0] != version:
        held = (version, build())
        st.session_state[key] = held
    return held[1]


def loss_version(job: Job, snap: JobSnapshot) -> tuple:
    """What the loss chart shows: redrawn with new rows at most every LOSS_REDRAW_SECONDS, and at the end."""
    if snap.finished:
        return (job.name, len(snap.losses), "final")
    held = st.session_state.get("train_loss_figure")
    if held is not None and held[0][0] == job.name:
        _, rows, drawn_at = held[0]
        if rows == len(snap.losses) or time.monotonic() - drawn_at < LOSS_REDRAW_SECONDS:
            return held[0]
    return (job.name, len(snap.losses), time.monotonic())


def show_progress(job: Job, snap: JobSnapshot) -> None:
    st.session_state["train_status"] = snap.status
    epoch = min(snap.epoch + 1, snap.epochs) if not snap.finished else snap.epoch
    if not snap.finished:
        total = snap.total_steps or "?"
        st.progress(snap.fraction, text=(f"Epoch {epoch}/{snap.epochs} · step {snap.step}/{total} · "
                                         f"{snap.images_per_second:,.0f} images/s · {snap.elapsed:.0f} s elapsed"))
        st.caption(f"**{job.name}**: {snap.message or 'starting'}")
        st.button("Cancel", key="train_cancel", on_click=job.cancel, help="Stop now; nothing is saved.")
    curves, samples = st.columns([3, 2])
    with curves:
        if snap.losses:
            st.markdown("**Training losses**")
            figure = cached_figure("train_loss_figure", loss_version(job, snap), lambda: loss_figure(snap.losses))
            st.plotly_chart(figure, key="train_losses")
        else:
            st.caption("Loss curves appear after the first logged steps.")
    if snap.frames:  # a 2-D model: its codes meeting its prior, as it trains (the Draw a prior page's view)
        index = len(snap.frames) - 1
        if snap.finished and len(snap.frames) > 1:  # finished: scrub back through the run, and take it away
            index = st.slider("Frame", 1, index + 1, index + 1, key=f"train_frame_{job.name}",
                              help="Each frame: the codes of 500 test digits, D(z) and the decoded manifold "
                                   "then. Frame 1 is the start of training.") - 1
            common.run_downloads(job, snap.frames, key="train_run")
        frame = snap.frames[index]
        common.enable_hover(job.dataset)
        figure = cached_figure(  # a new frame comes a few times an epoch: the same figure until then
            "train_latent_figure", (job.name, len(snap.frames), index),
            lambda: common.latent_frame_figure(make_prior(job.info.model_config.prior, 2), frame, disc=True,
                                               dataset=job.dataset, title=f"q(z) over p(z) at epoch "
                                               f"{frame.epoch:.2f} · MMD² {frame.distance:.3f}"))
        st.plotly_chart(figure, key="train_latent")
        sheet = manifold_image(frame, scale=2)
        if sheet is not None:
            st.image(sheet, caption=f"The decoder over the prior's bulk at epoch {frame.epoch:.2f}", width=280)
    with samples:
        if snap.samples is not None:
            grid = common.grid_image(snap.samples[:100], nrow=10, scale=2)
            st.session_state["train_preview"] = grid
            st.image(grid, caption=f"Samples from fixed noise at step {snap.step} (one digit class per column "
                                   "where the model knows labels)")
        else:
            st.caption("Preview samples appear a few times per epoch.")


def show_result(job: Job, snap: JobSnapshot) -> None:
    if snap.status == "done":
        st.session_state["train_checkpoint"] = snap.checkpoint
        st.success(f"Trained **{job.name}** ({snap.epoch} epochs, {snap.elapsed:.0f} s) and saved it to "
                   f"`{snap.checkpoint}`. It is now in the model picker in the sidebar and on the home page.")
        if snap.history:
            last = " · ".join(f"{k} {v:.4g}" for k, v in snap.history[-1].items() if k != "epoch")
            st.caption(f"Last epoch's mean losses (val_: on the held-out validation images): {last}")
    elif snap.status == "failed":
        st.error(f"Training failed: {snap.error}")
        if snap.details:
            st.caption("This looks like a bug; the full details are in the server's log.")
    elif snap.status == "cancelled":
        st.info("Training was cancelled; nothing was saved.")
    show_progress(job, snap)


@st.fragment(run_every=2.0)
def live_progress(job: Job) -> None:
    """Redraw the progress every 2 s while the worker trains (each redraw costs the job CPU: bench/live_job.py); a
    full rerun once it has finished."""
    snap = job.snapshot()
    if snap.finished:
        st.rerun()  # the full page then draws the result without polling
    show_progress(job, snap)


# -- the page -----------------------------------------------------------------------------------
common.page_header("Train", "Any model, prior and size the `aae train` command can train, in the background: "
                            "switch pages meanwhile and come back. Same seed, same model.")
running = current is not None and not current.finished

st.selectbox("Start from a recipe", [None, *RECIPES], key="train_recipe", on_change=apply_recipe,
             format_func=lambda name: "none: the model's defaults" if name is None
             else f"{name}: {get_recipe(name).summary}",
             help="A named run of this project, as `aae train --recipe NAME` trains it: it fills every field below "
                  "with its values, which you can still change.")
left, middle, right = st.columns(3)
with left:
    model = st.selectbox("Model", catalog.kinds(trainable=True), key="train_model", format_func=catalog.label,
                         on_change=leave_recipe)
    entry = catalog.entry(model)
    st.caption(entry.summary)
    fields = {o.name: o for o in catalog.config_options(entry.config)}
    kind_defaults = catalog.training_defaults(model)
    model_options: dict[str, Any] = {}
    if "prior" in fields:
        model_options["prior"] = st.selectbox(
            "Prior p(z)", [None, *PRIOR_NAMES], key="train_prior", format_func=forms._format,
            help=f"{fields['prior'].help} (default: {fields['prior'].default.name}); mog10 and swissroll are 2-D.")
        model_options["prior_std"] = st.number_input(
            "Prior scale σ", min_value=0.01, max_value=100.0, value=None, step=0.5, key="train_prior_std",
            placeholder=f"default: {fields['prior'].default.std:g} for its {fields['prior'].default.name}, else 1")
with middle:
    if "latent_dim" in fields:
        model_options["latent_dim"] = st.number_input(
            "Latent dimension", min_value=1, max_value=512, value=None, step=1, key="train_latent_dim",
            placeholder=f"default: {fields['latent_dim'].default} (2 for mog10/swissroll)",
            help=fields["latent_dim"].help)
    if "hidden" in fields:
        model_options["hidden"] = st.number_input(
            "Hidden width", min_value=16, max_value=4096, value=None, step=100, key="train_hidden",
            placeholder=f"default: {fields['hidden'].default}", help=fields["hidden"].help)
    epochs = st.number_input("Epochs", min_value=1, max_value=1000, step=1, key="train_epochs",
                             help="Passes over the training images; the estimate below says how long they take.")
    batch_size = st.number_input("Batch size", min_value=1, max_value=10_000, value=None, step=10,
                                 key="train_batch_size", placeholder=f"default: {kind_defaults['batch_size']}")
    lr = st.number_input("Learning rate", min_value=1e-5, max_value=1.0, value=None, format="%.5f", step=1e-4,
                         key="train_lr", placeholder=f"default: {kind_defaults['lr']:g}")
with right:
    seed = st.number_input("Seed", min_value=0, max_value=catalog.SEED_MAX, step=1, key="train_seed")
    dataset = st.selectbox("Dataset", DATASET_NAMES, key="train_dataset")
    train_limit = st.number_input("Training images", min_value=100, max_value=60_000, value=None, step=100,
                                  key="train_limit", placeholder="all",
                                  help="Use only the first N training images: quick runs. Empty: all of them.")
    name = st.text_input("Name", key="train_name", max_chars=80, help="Letters, digits, - and _. The model is "
                                                                      "saved in the runs folder under this name.")
    overwrite = st.checkbox("Overwrite a model of yours with this name", key="train_overwrite")
problems: list[str] = []
with st.expander(f"All options of the {entry.label}"):
    st.caption("Every field of its config, as `aae train --set FIELD=VALUE` sets it; empty is the default.")
    advanced, form_problems = forms.options_form(catalog.config_options(entry.config), prefix="train_",
                                                 skip=MAIN_FIELDS)
    model_options.update(advanced)
    problems += form_problems
with st.expander("Optimiser and schedule"):
    engine_options, form_problems = forms.options_form(
        catalog.training_options(model), prefix="train_engine_", skip=ESSENTIAL_TRAINING + SCHEDULED)
    problems += form_problems
st.caption(f"Training runs on **{common.device_description()}** (chosen automatically). "
           f"Models are saved in `{common.runs_dir()}`.")

values = {"model": model, **model_options, **engine_options, "epochs": int(epochs),
          "batch_size": int(batch_size) if batch_size else None, "lr": lr, "seed": int(seed), "dataset": dataset,
          "train_limit": int(train_limit) if train_limit else None, "data_dir": str(common.data_dir())}
run = None
try:
    run = run_spec(values)
except ValueError as error:
    problems.append(str(error))
name_problem = common.model_name_problem(name.strip(), overwrite=overwrite)
# The run in progress writes that folder itself: while it runs, its name is not a problem. Once it has saved its
# model, the name field has moved on to a free name (at the top); once cancelled, the name is free again.
own_run = running and job is not None and job.name == name.strip()
if own_run:
    name_problem = None
if name_problem:
    problems.append(name_problem)
has_data = is_available(dataset, common.data_dir())
if not has_data:
    st.info(missing_data_message(dataset))
for problem in problems:
    st.error(problem)

estimate = None
if run is not None and not problems:
    kind, model_config, train_config = run.kind, run.model, run.train
    with st.expander("What will run"):
        st.caption("The whole run specification, every default resolved, as `aae train --dry-run` prints it.")
        st.code(run.describe(), language="toml")
    try:
        rate = estimates.rate_when_ready(kind, model_config, train_config)
    except (ValueError, RuntimeError) as error:
        problems.append(str(error))
        st.error(f"This model cannot train: {error}")
        rate = None
    if rate is not None:  # None: being measured, and the page is drawn again when it has been
        n_images = run.data.train_limit or 50_000  # the paper's training split of the full dataset
        estimate = training_estimate(rate, train_config, train_images=n_images)
        st.session_state["train_estimate"] = estimate.seconds
        estimates.show(estimate, f"for {train_config.epochs} epochs of {n_images:,} images, with their validation "
                                 "and the worker's start")
start = st.button(estimates.start_label("Start training", estimate), key="train_start",
                  type="primary",
                  disabled=running or own_run or bool(problems) or not has_data,
                  help="One training at a time per browser session." if running else None)
if start and not running and not problems and has_data and run is not None:
    # In a worker process of its own (aae.app.workers): the server only reads its progress.
    job = workers.start_job("training", kind=run.kind, model_config=run.model, train_config=run.train,
                            out=common.runs_dir() / name.strip(), dataset=run.data.dataset,
                            data_dir=common.data_dir(), train_limit=run.data.train_limit, name=name.strip(),
                            latent_frames=4)
    jobs["train"] = job
    st.session_state["train_status"] = "running"
    st.rerun()  # redraw the whole page with Start disabled and the live progress below

# -- the current job ----------------------------------------------------------------------------
if job is not None:
    st.divider()
    # Decide on the state read at the top (the Start button used it): a job that ends after that read is
    # drawn by the live view, which then reruns the page, so Start never stays disabled after the end.
    if running:
        live_progress(job)
    else:
        show_result(job, job.snapshot())
