"""Train: configure any model the CLI can train, train it in the background, watch it learn, then use it."""

from __future__ import annotations

import argparse
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from aae.cli import model_config_from_args
from aae.data import DATASET_NAMES, is_available
from aae.jobs import JobSnapshot, TrainingJob, validate_model_config
from aae.priors import PRIOR_NAMES
from aae.training import TrainConfig
from ui import common

# -- session state ------------------------------------------------------------------------------
st.session_state.setdefault("train_status", None)  # the last job's status ("running", "done", ...), for tests
st.session_state.setdefault("train_checkpoint", None)  # where the last finished job saved its model
st.session_state.setdefault("train_announced", None)  # the checkpoint already made the picker's choice
st.session_state.setdefault("train_name", common.free_model_name("my-model"))

TWO_D_PRIORS = ("mog10", "swissroll")  # priors that exist only in 2-D, with one part per class
GENERATORS = {"dense": "dense (the seeds' GAN)", "conv": "convolutional (DCGAN-style)"}
MODEL_NAMES = {"aae": "AAE (adversarial autoencoder)", "vae": "VAE", "gan": "GAN",
               "supervised": "supervised AAE (label + style)", "semi": "semi-supervised AAE",
               "cluster": "clustering AAE", "dimred": "semi-supervised 2-D map (cluster heads)"}
DATASET_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
jobs = common.session_jobs()
job: TrainingJob | None = jobs.get("train")

# A job that finished since the last full run: select its model everywhere and free the name field
# (before the widgets exist, since a widget's value cannot change once it is drawn).
if job is not None:
    finished = job.snapshot()
    if finished.status == "done" and st.session_state["train_announced"] != finished.checkpoint:
        st.session_state["train_announced"] = st.session_state["model_path"] = finished.checkpoint
        st.session_state["train_checkpoint"] = finished.checkpoint
        st.session_state["train_name"] = common.free_model_name(st.session_state["train_name"])


# -- building the configs the CLI builds --------------------------------------------------------

def job_settings(values: dict[str, Any]) -> tuple[str, Any, TrainConfig]:
    """(kind, model config, train config) from the widgets; ValueError with a message for people."""
    model, prior = values["model"], values["prior"]
    if values["label_regularized"] and model != "aae":
        raise ValueError("Label-regularised training applies to the AAE only.")
    if values["label_regularized"] and prior not in TWO_D_PRIORS:
        raise ValueError(f"Label-regularised training needs a prior with one part per digit class "
                         f"(mog10 or swissroll), not {prior}.")
    # Empty latent size: 2 for the 2-D-only priors, else the CLI's default (8; GAN noise 100).
    latent = values["latent_dim"] or (2 if prior in TWO_D_PRIORS else None)
    labels = values["labels_per_class"]
    args = argparse.Namespace(model=model, encoder=values["encoder"], prior=prior, prior_std=values["prior_std"],
                              label_regularized=values["label_regularized"], latent_dim=latent,
                              hidden=values["hidden"], labels_per_class=None if labels == "all" else int(labels),
                              clusters=values["clusters"], corruption=values["corruption"],
                              corruption_level=values["corruption_level"],
                              generator=values["generator"], feature_matching=values["feature_matching"])
    kind, model_config = model_config_from_args(args)
    validate_model_config(kind, model_config)
    limit, batch = values["train_limit"], values["batch_size"]
    if limit is not None and batch > limit:
        raise ValueError(f"The batch size ({batch}) is larger than the {limit} training images: lower it.")
    # Enough loss points for a smooth live curve (about 300) and a fresh preview a few times per epoch.
    steps_per_epoch = max((limit or 60_000) // batch, 1)
    lr = values["lr"] if values["lr"] is not None else (2e-4 if kind == "gan" else 1e-3)
    train_config = TrainConfig(
        epochs=values["epochs"], batch_size=batch, lr=lr, seed=values["seed"], device="auto",
        log_every=max(1, values["epochs"] * steps_per_epoch // 300), sample_every=max(1, steps_per_epoch // 4),
    )
    return kind, model_config, train_config


def missing_data_message(dataset: str) -> str:
    root = common.data_dir()
    return (f"{dataset} is not in `{(root / DATASET_FOLDERS[dataset] / 'raw').resolve()}`, so training is off. "
            f"Put its four IDX files there, or start the app with `AAE_DATA_DIR` pointing at a folder that holds "
            f"`{DATASET_FOLDERS[dataset]}/raw` (for example `AAE_DATA_DIR=../shared/data streamlit run app.py`), "
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


def show_progress(job: TrainingJob, snap: JobSnapshot) -> None:
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
            st.plotly_chart(loss_figure(snap.losses), key="train_losses")
        else:
            st.caption("Loss curves appear after the first logged steps.")
    with samples:
        if snap.samples is not None:
            grid = common.grid_image(snap.samples[:100], nrow=10, scale=2)
            st.session_state["train_preview"] = grid
            st.image(grid, caption=f"Samples from fixed noise at step {snap.step} (one digit class per column "
                                   "where the model knows labels)")
        else:
            st.caption("Preview samples appear a few times per epoch.")


def show_result(job: TrainingJob, snap: JobSnapshot) -> None:
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


@st.fragment(run_every=1.0)
def live_progress(job: TrainingJob) -> None:
    """Redraw the progress every second while the worker trains; a full rerun once it has finished."""
    snap = job.snapshot()
    if snap.finished:
        st.rerun()  # the full page then draws the result without polling
    show_progress(job, snap)


# -- the page -----------------------------------------------------------------------------------
common.page_header("Train", "Any model, prior and size the `aae train` command can train, in the background: "
                            "switch pages meanwhile and come back. Same seed, same model.")
running = job is not None and not job.snapshot().finished

left, middle, right = st.columns(3)
with left:
    model = st.selectbox("Model", list(MODEL_NAMES), key="train_model", format_func=MODEL_NAMES.get)
    encoder = st.selectbox("Encoder q(z|x)", ["deterministic", "gaussian", "universal"], key="train_encoder",
                           disabled=model != "aae", help="AAE only: deterministic, Gaussian posterior, or the "
                                                         "universal approximator (noise fed to the encoder).")
    prior = st.selectbox("Prior p(z)", PRIOR_NAMES, key="train_prior",
                         help="A VAE needs the Gaussian; mog10 and swissroll are 2-D.")
    prior_std = st.number_input("Prior scale σ", min_value=0.01, max_value=100.0, value=None, step=0.5,
                                key="train_prior_std", placeholder="default: 5 for the AAE's Gaussian, else 1")
    label_regularized = st.checkbox("Label-regularised", key="train_label_regularized",
                                    help="AAE with mog10 or swissroll: the discriminator sees the digit's label "
                                         "and p(z) is drawn from that label's part.")
with middle:
    latent_dim = st.number_input("Latent dimension", min_value=1, max_value=512, value=None, step=1,
                                 key="train_latent_dim",
                                 placeholder="default: 8 (2 for mog10/swissroll; GAN 100; style 2, semi 4)")
    hidden = st.number_input("Hidden width", min_value=16, max_value=4096, value=1000, step=100,
                             key="train_hidden", disabled=model == "gan",
                             help="Width of the hidden layers of encoder, decoder and discriminator (paper: 1000). "
                                  "The GAN keeps its own sizes.")
    epochs = st.number_input("Epochs", min_value=1, max_value=1000, value=20, step=1, key="train_epochs")
    batch_size = st.number_input("Batch size", min_value=1, max_value=10_000, value=100, step=10,
                                 key="train_batch_size")
    lr = st.number_input("Learning rate", min_value=1e-5, max_value=1.0, value=None, format="%.5f", step=1e-4,
                         key="train_lr", placeholder="default: 0.001 (GAN 0.0002)")
with right:
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="train_seed")
    dataset = st.selectbox("Dataset", DATASET_NAMES, key="train_dataset")
    train_limit = st.number_input("Training images", min_value=100, max_value=60_000, value=None, step=100,
                                  key="train_limit", placeholder="all",
                                  help="Use only the first N training images: quick runs. Empty: all of them.")
    name = st.text_input("Name", key="train_name", max_chars=80, help="Letters, digits, - and _. The model is "
                                                                      "saved in the runs folder under this name.")
    overwrite = st.checkbox("Overwrite a model of yours with this name", key="train_overwrite")
with st.expander("The paper's other AAEs: labels, clusters, denoising",
                 expanded=model in ("semi", "cluster", "dimred")
                 or st.session_state.get("train_corruption", "none") != "none"):
    variant_left, variant_middle, variant_right = st.columns(3)
    labels_per_class = variant_left.selectbox(
        "Labels per class", [1, 10, 100, "all"], index=1, key="train_labels_per_class",
        disabled=model not in ("semi", "dimred"),
        help="Semi-supervised AAE: labelled training images per digit (10 → 100 labels, as in the paper).")
    clusters = variant_middle.number_input("Clusters", min_value=2, max_value=100, value=16, step=1,
                                           key="train_clusters", disabled=model != "cluster",
                                           help="Clustering AAE: the number of categories (paper: 16 and 30).")
    corruption = variant_right.selectbox("Denoising: corrupt inputs with", ["none", "gaussian", "masking",
                                                                            "salt_pepper"],
                                         key="train_corruption", disabled=model != "aae",
                                         help="AAE only: the encoder sees corrupted digits, the decoder must "
                                              "rebuild the clean ones.")
    corruption_level = variant_right.slider("Corruption level", 0.05, 0.95, 0.5, step=0.05,
                                            key="train_corruption_level",
                                            disabled=model != "aae" or corruption == "none")
with st.expander("GAN: generator and mode collapse", expanded=model == "gan"):
    gan_left, gan_right = st.columns(2)
    generator = gan_left.selectbox("Generator", list(GENERATORS), key="train_generator", disabled=model != "gan",
                                   format_func=GENERATORS.get)
    feature_matching = gan_right.number_input(
        "Feature matching weight", min_value=0.0, max_value=100.0, value=1.0, step=1.0, key="train_feature_matching",
        disabled=model != "gan",
        help="0: the plain GAN, which collapses onto a few digits. Above 0 (1 is the shipped `gan`'s recipe) the "
             "generator also matches the mean of the discriminator's features on real digits (Salimans et al., "
             "2016), which keeps it from collapsing.")
st.caption(f"Training runs on **{common.device_description()}** (chosen automatically). "
           f"Models are saved in `{common.runs_dir()}`.")

values = {"model": model, "encoder": encoder, "prior": prior, "prior_std": prior_std,
          "label_regularized": label_regularized, "latent_dim": latent_dim, "hidden": int(hidden),
          "epochs": int(epochs), "batch_size": int(batch_size), "lr": lr, "seed": int(seed),
          "train_limit": int(train_limit) if train_limit else None, "labels_per_class": labels_per_class,
          "clusters": int(clusters), "corruption": corruption if model == "aae" else "none",
          "corruption_level": float(corruption_level), "generator": generator,
          "feature_matching": float(feature_matching)}
problems: list[str] = []
settings = None
try:
    settings = job_settings(values)
except ValueError as error:
    problems.append(str(error))
name_problem = common.model_name_problem(name.strip(), overwrite=overwrite)
if name_problem:
    problems.append(name_problem)
has_data = is_available(dataset, common.data_dir())
if not has_data:
    st.info(missing_data_message(dataset))
for problem in problems:
    st.error(problem)

start = st.button("Start training", key="train_start", type="primary",
                  disabled=running or bool(problems) or not has_data,
                  help="One training at a time per browser session." if running else None)
if start and not running and not problems and has_data and settings is not None:
    kind, model_config, train_config = settings
    job = TrainingJob(kind=kind, model_config=model_config, train_config=train_config,
                      out=common.runs_dir() / name.strip(), dataset=dataset, data_dir=common.data_dir(),
                      train_limit=values["train_limit"], name=name.strip())
    job.start()
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
