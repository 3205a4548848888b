"""Draw a prior: paint a 2-D density (or upload one, or start from an example), train a 2-D AAE against it in
the background and watch its codes q(z) meet it, frame by frame, with a VAE beside it that can only pull its
codes toward N(0, I). The paper's central claim made visible: an AAE imposes any prior it can sample.

Pages never build networks or loops: a training job (`aae.app.jobs.Job`) trains, `aae.app.explore` makes the
frames and the GIF.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from aae.app import workers
from aae.app.estimates import Estimate, total, training_estimate
from aae.app.explore import manifold_image
from aae.app.jobs import Job, JobSnapshot
from aae.core import catalog
from aae.core.data import is_available
from aae.core.prior_images import DIGIT_COLOURS, EXAMPLE_SHAPES, example_drawing, image_prior_config
from aae.core.priors import PriorConfig, make_prior
from ui import canvas as canvas_checks
from ui import common, estimates

try:  # the canvas is an optional component: without it the examples and uploads still work
    from streamlit_drawable_canvas import st_canvas
except Exception as canvas_error:  # any import failure only disables drawing
    st_canvas = None
    CANVAS_PROBLEM = f"{type(canvas_error).__name__}: {canvas_error}"
else:
    CANVAS_PROBLEM = ""

CANVAS_SIDE = 280
SLOTS = {"aae": "draw_aae", "vae": "draw_vae"}  # this page's job slots in the session's job registry
KEPT_PRIOR = {"aae": "its drawn prior is in the checkpoint", "vae": "its prior is N(0, I)"}  # said when saved
st.session_state.setdefault("draw_status", None)  # the AAE job's status, for tests

common.page_header(
    "Draw a prior",
    "Paint where the codes should go, train a 2-D AAE against your drawing, and watch the discriminator push "
    "the codes of real digits onto it. A VAE trained beside it can only pull toward N(0, I).",
    notice="the AAE's dots (test digits, coloured by class) spread over *your* shape as its MMD² to the "
           "prior falls; the VAE's gather into a round blob whatever you drew — its KL term knows only "
           "N(0, I). The paper's figure 2 made for any shape.")
jobs = common.session_jobs()


# -- the drawing ---------------------------------------------------------------------------------

def drawn_prior() -> tuple[PriorConfig | None, str | None]:
    """The prior from the chosen source, or (None, why not)."""
    source = st.radio("Start from", ["an example", "a drawing", "an image file"], horizontal=True,
                      key="draw_source")
    try:
        if source == "an example":
            shape = st.selectbox("Example shape", EXAMPLE_SHAPES, key="draw_example")
            return image_prior_config(example_drawing(shape)), None
        if source == "an image file":
            upload = st.file_uploader("A PNG or JPEG: dark ink on light, or opaque ink on transparent",
                                      type=["png", "jpg", "jpeg"], key="draw_upload")
            if upload is None:
                return None, "Upload an image of the density you want."
            if not canvas_checks.readable_image(upload.getvalue()):
                return None, f"“{upload.name}” is not a picture this page can read: upload a PNG or JPEG file."
            return image_prior_config(upload.getvalue()), None
        if st_canvas is None:
            return None, f"The drawing canvas is not available here ({CANVAS_PROBLEM}): use an example or a file."
        brush, colour = st.columns(2)
        width = brush.slider("Brush", 10, 60, 30, key="draw_brush")
        ink = colour.selectbox("Ink", ["black: any digit", *[f"digit {d}" for d in range(10)]], key="draw_ink",
                               help="Paint a region in a digit's colour and the AAE learns to put that digit's "
                                    "codes there (label-regularised, like the paper's mixture of 10 Gaussians). "
                                    "Black ink is shared by the digits without a colour of their own.")
        stroke = "#000000" if ink.startswith("black") else DIGIT_COLOURS[int(ink.split()[-1])]
        canvas_checks.toolbar_room()  # its toolbar shows above it, over the brush and ink without this room
        canvas = st_canvas(stroke_width=width, stroke_color=stroke, background_color="#FFFFFF",
                           height=CANVAS_SIDE, width=CANVAS_SIDE, drawing_mode="freedraw",
                           return_image_data=True, key="draw_canvas")
        st.caption("The square is z ∈ [−4, 4]², top edge at z₂ = +4. Where you paint more, more codes go. "
                   "The toolbar above the canvas undoes a stroke or clears it.")
        objects = (canvas.json_data or {}).get("objects") or []
        if not objects or canvas.image_data is None:
            return None, "Draw a shape on the canvas."
        if canvas_checks.single_dot(objects, width):
            return None, "A single dot is not a region for the codes to fill: drag the brush to draw a shape."
        return image_prior_config(canvas.image_data), None
    except ValueError as error:  # blank, a dot, not an image, too large: a message, nothing starts
        return None, str(error)


# -- the runs ------------------------------------------------------------------------------------

def run_estimate(*, epochs: int, images: int, hidden: int, with_vae: bool) -> Estimate | None:
    """Both runs' time (as on Train: the training at the measured rate, its validation, the worker's start), from
    rates measured on a model of the same size with the default prior: the drawing barely changes a step's cost,
    and a measurement at every stroke would hold up the drawing. None while the rates are being measured."""
    runs = []
    for kind in ["aae", "vae"] if with_vae else ["aae"]:
        config = catalog.build_config(kind, {"latent_dim": 2, "hidden": hidden})
        runs.append((kind, config, catalog.train_config(kind, config, epochs=epochs, device="auto", log_every=0,
                                                        sample_every=-1)))
    rates = estimates.rates_when_ready(*runs)
    if rates is None:
        return None
    parts = [training_estimate(rate, train, train_images=images)
             for rate, (_, _, train) in zip(rates, runs, strict=True)]
    return total(parts, at_once=workers.max_running())


def start_runs(prior: PriorConfig, *, epochs: int, images: int, hidden: int, with_vae: bool) -> None:
    # A drawing in digits' colours trains label-regularised: each digit's codes go to its own region.
    configs = {"aae": catalog.build_config("aae", {"latent_dim": 2, "hidden": hidden, "prior": prior,
                                                   "label_regularized": prior.regions is not None})}
    if with_vae:
        configs["vae"] = catalog.build_config("vae", {"latent_dim": 2, "hidden": hidden})
    base = common.free_model_name("drawn-prior", suffixes=("-aae", "-vae"))
    for kind, config in configs.items():
        name = f"{base}-{kind}"
        train = catalog.train_config(kind, config, epochs=epochs, device="auto", log_every=0, sample_every=-1)
        job = workers.start_job("training", kind=kind, model_config=config, train_config=train,
                                out=common.runs_dir() / name, data_dir=common.data_dir(), train_limit=images,
                                name=name, latent_frames=6)  # each in a worker process of its own
        jobs[SLOTS[kind]] = job
    if not with_vae:
        jobs.pop(SLOTS["vae"], None)  # an earlier VAE run is not this drawing's


def show_run(kind: str, job: Job, snap: JobSnapshot, *, live: bool) -> None:
    prior = make_prior(job.info.model_config.prior, 2)
    title = {"aae": "AAE: q(z) pushed onto your prior", "vae": "VAE: q(z) pulled toward N(0, I)"}[kind]
    if not snap.frames:
        st.caption(f"{title}: {snap.message or 'starting'} …")
        return
    index = len(snap.frames) - 1
    if not live and len(snap.frames) > 1:  # finished: scrub back through the run
        index = st.slider(f"Frame ({kind.upper()})", 1, len(snap.frames), len(snap.frames),
                          key=f"draw_frame_{kind}_{job.name}") - 1  # counted from 1, as the caption counts
    frame = snap.frames[index]
    common.enable_hover(job.dataset)
    st.plotly_chart(common.latent_frame_figure(prior, frame, title=f"{title} · epoch {frame.epoch:.2f}",
                                   disc=st.session_state.get("draw_show_disc", False) and not coloured,
                                   dataset=job.dataset),
                    key=f"draw_plot_{kind}_{'live' if live else 'done'}")
    st.caption(f"MMD² of the codes to the prior: **{frame.distance:.3f}** (frame {index + 1} of "
               f"{len(snap.frames)}) · {snap.status}")
    sheet = manifold_image(frame, scale=2)
    if sheet is not None:
        st.image(sheet, caption=f"The decoder over the prior's bulk at epoch {frame.epoch:.2f} (a 10 × 10 grid of "
                                "codes, top row z₂ high)", width=280)


def distance_figure(snaps: dict[str, JobSnapshot]) -> go.Figure:
    fig = go.Figure()
    for kind, snap in snaps.items():
        fig.add_trace(go.Scatter(x=[f.epoch for f in snap.frames], y=[f.distance for f in snap.frames],
                                 mode="lines+markers", name=f"{kind.upper()} to its prior"))
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="epoch",
                      yaxis_title="MMD² to the prior ↓", title="How far q(z) is from p(z)")
    return fig


def show_runs(live: bool) -> dict[str, JobSnapshot]:
    running = {kind: jobs[slot] for kind, slot in SLOTS.items() if slot in jobs}
    snaps = {kind: job.snapshot() for kind, job in running.items()}
    columns = st.columns(len(running))
    for column, (kind, job) in zip(columns, running.items()):
        with column:
            show_run(kind, job, snaps[kind], live=live)
    if any(s.frames for s in snaps.values()):
        st.plotly_chart(distance_figure(snaps), key=f"draw_distance_{'live' if live else 'done'}")
    return snaps


@st.fragment(run_every=1.0)
def live_view() -> None:
    snaps = show_runs(live=True)
    if all(s.finished for s in snaps.values()):
        st.rerun()  # the full page draws the finished runs, with their frame sliders and downloads


# -- the page ------------------------------------------------------------------------------------

current = {slot: jobs[slot].snapshot() for slot in SLOTS.values() if slot in jobs}
running = [jobs[slot] for slot, snap in current.items() if not snap.finished]
statuses = [snap.status for snap in current.values()]
# For tests: "running" until every run of the drawing has finished, then the AAE's own outcome.
st.session_state["draw_status"] = ("running" if running else statuses[0]) if statuses else None
left, right = st.columns([1, 1])
with left:
    prior_config, problem = drawn_prior()
with right:
    if prior_config is None:
        st.info(problem)
    else:
        prior = make_prior(prior_config, 2)
        st.plotly_chart(common.latent_frame_figure(prior, title="Your prior p(z)"), key="draw_preview")
        if prior.is_uniform():
            st.info("Ink everywhere, evenly: this is the uniform prior on the square [−4, 4]².")
        if prior.supports_labels:
            digits = prior.drawn_digits()
            st.caption(f"Coloured ink: digit{'s' if len(digits) > 1 else ''} {', '.join(map(str, digits))} "
                       "each get their own region. The AAE trains label-regularised: its discriminator sees each "
                       "code's digit and calls a code real only inside that digit's colour"
                       + (" (the other digits share the black ink)." if len(digits) < 10 else "."))

settings = st.columns(4)
epochs = settings[0].number_input("Epochs", 1, 50, 10, key="draw_epochs")
images = settings[1].select_slider("Training images", [2_000, 5_000, 10_000, 20_000, 50_000], 10_000,
                                   key="draw_images", help="The first images of the paper's 50,000-image split.")
hidden = settings[2].select_slider("Hidden units", [64, 128, 256, 512, 1000], 256, key="draw_hidden")
with_vae = settings[3].checkbox("Train a VAE beside it", True, key="draw_with_vae",
                                help="Same size and data: watch it ignore your drawing.")
# The frames shown are the AAE run's, else the next run's: is its prior in digits' colours (label-regularised)?
shown_aae = jobs.get(SLOTS["aae"])
coloured = (bool(shown_aae.info.model_config.label_regularized) if shown_aae is not None
            else prior_config is not None and prior_config.regions is not None)
st.checkbox("Show the discriminator's D(z) over the plane (AAE)", False, key="draw_show_disc", disabled=coloured,
            help="Not for a prior in digits' colours: there the discriminator judges each code together with its "
                 "digit, so there is no one D(z) over the plane (each digit has its own)." if coloured else
                 "D(z) near 1: the discriminator takes z for a prior draw; near 0: for a code of a digit.")

if not is_available("mnist", common.data_dir()):
    st.warning(common.data_missing_message(common.data_dir()))
else:
    try:
        estimate = run_estimate(epochs=int(epochs), images=int(images), hidden=int(hidden), with_vae=with_vae)
    except (RuntimeError, ValueError):
        estimate = None
    if estimate is not None:
        st.session_state["draw_estimate"] = estimate.seconds
        estimates.show(estimate, f"for {'both runs' if with_vae else 'the run'} on {common.device_description()} "
                                 f"(each in a process of its own; at most {workers.max_running()} train at once here)")
    start = st.button(estimates.start_label("Train against this prior", estimate), type="primary", key="draw_start",
                      disabled=prior_config is None or bool(running),
                      help="Running already" if running else None)
    if start and prior_config is not None:
        try:
            start_runs(prior_config, epochs=int(epochs), images=int(images), hidden=int(hidden), with_vae=with_vae)
        except ValueError as error:
            st.error(str(error))
        else:
            st.rerun()

if any(slot in jobs for slot in SLOTS.values()):
    if running:
        cols = st.columns(4)
        cols[0].button("Stop", key="draw_cancel", on_click=lambda: [job.cancel() for job in running],
                       help="Stop both runs now; nothing is saved.")
        live_view()
    else:
        snaps = show_runs(live=False)
        aae_job = jobs.get(SLOTS["aae"])
        for kind, snap in snaps.items():
            job = jobs[SLOTS[kind]]
            if snap.status == "done":
                kept = KEPT_PRIOR[kind]
                st.success(f"Saved **{job.name}** to `{snap.checkpoint}`: pick it in the sidebar on any page "
                           f"({kept}).")
            elif snap.status == "failed":
                st.error(f"The {kind.upper()} run failed: {snap.error}")
            elif snap.status == "cancelled":
                st.info(f"The {kind.upper()} run was stopped; nothing was saved.")
        aae_snap: Any = snaps.get("aae")
        if aae_snap is not None and aae_snap.frames:
            common.run_downloads(aae_job, aae_snap.frames, key="draw_run", what="the AAE's run")
