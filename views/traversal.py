"""Latent traversal: move a code with one slider per dimension, sweep one dimension, interpolate between two codes."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from aae.app.explore import dense_layers, interpolate, latent_range, traversal_codes
from aae.core import catalog
from aae.core.inference import decode_all
from ui import common, live

# -- session state -----------------------------------------------------------------------------------
MAX_SEED = catalog.SEED_MAX
MAX_SLIDERS = 16  # more sliders than this is a wall, not a control; the rest of the code stays fixed
SWEEP_STEPS = 11
LIVE_KEY = "trav_live_sliders"  # the in-browser sliders' component: the code it sent back when a move ended
PRIOR_START, DIGIT_START = "prior sample", "test digit"
st.session_state.setdefault("trav_start", PRIOR_START)
st.session_state.setdefault("trav_seed", 0)
st.session_state.setdefault("trav_index", 0)
st.session_state.setdefault("sweep_dim", 0)
st.session_state.setdefault("interp_a", 0)
st.session_state.setdefault("interp_b", 1)
st.session_state.setdefault("interp_seed_a", 1)
st.session_state.setdefault("interp_seed_b", 2)
st.session_state.setdefault("interp_mode", "linear")
st.session_state.setdefault("interp_steps", 9)
# What the sliders were last set from (model, start, seed/index), the start code, and the slider range:
# the sliders are re-initialised only when the start changes, so moving one never snaps the others back.
st.session_state.setdefault("trav_signature", None)
st.session_state.setdefault("trav_start_code", None)
st.session_state.setdefault("trav_range", 3.0)
# What the page shows (for tests and readers): the decoded image (uint8), the code it decodes, the sweep
# strip and its codes, the interpolation strip and its codes.
st.session_state.setdefault("traversal_image", None)
st.session_state.setdefault("traversal_code", None)
st.session_state.setdefault("sweep_strip", None)
st.session_state.setdefault("sweep_images", None)
st.session_state.setdefault("interp_strip", None)
st.session_state.setdefault("interp_codes", None)


def slider_key(i: int) -> str:
    return f"trav_z{i}"


def reset_sliders() -> None:
    """Put every slider back on the start code (a button callback: runs before the sliders are drawn)."""
    start = st.session_state.get("trav_start_code")
    if start is None:
        return
    for i, value in enumerate(start[:MAX_SLIDERS]):
        st.session_state[slider_key(i)] = float(value)


def another_sample() -> None:
    st.session_state["trav_seed"] = (int(st.session_state.get("trav_seed", 0)) + 1) % MAX_SEED


@common.releasable
@st.cache_resource(show_spinner=False, max_entries=8)
def browser_layers(path: str, mtime: float) -> list[dict] | None:
    """The decoder as dense layers the browser can run, already int8 and base64 (once per model, not per rerun);
    None for a convolutional or conditional decoder."""
    layers = dense_layers(common.load(path).model)
    return None if layers is None else live.encode_layers(layers)


def prior_code(model, seed: int) -> torch.Tensor:
    """One code (D,) from the model's prior, reproducible from `seed`."""
    return model.sample_latent(1, generator=torch.Generator().manual_seed(seed))[0].cpu()


# -- model -------------------------------------------------------------------------------------------
common.page_header(
    "Latent traversal",
    "Start from a code, move it one dimension at a time and watch the decoded digit change; sweep a "
    "dimension across its range; walk from one digit to another.",
    notice=(
        'in a good latent space every small move changes the digit a little and every region decodes to a '
        'plausible digit; on the 2-D map, move between the clusters and watch one digit morph into another.'
    ),
)
entry, model = common.picked_model(kinds=common.PLAIN_KINDS)
dim = model.latent_dim
shown = min(dim, MAX_SLIDERS)
data = common.test_set() if model.has_encoder else None  # says itself when MNIST is missing
can_encode = model.has_encoder and data is not None

# -- the start point ---------------------------------------------------------------------------------
URL = {"start": ("trav_start", str), "seed": ("trav_seed", int), "digit": ("trav_index", int)}
SLIDER_URL = {f"z{i + 1}": (slider_key(i), float) for i in range(shown)}
common.url_state(URL)  # a shared link opens this view
st.subheader("Start")
if not can_encode:
    st.session_state["trav_start"] = PRIOR_START
start_column, number_column, button_column = st.columns([2, 2, 1.3], vertical_alignment="bottom")
start = start_column.radio("Start from", [PRIOR_START, DIGIT_START], key="trav_start", horizontal=True,
                           disabled=not can_encode)
if not model.has_encoder:
    st.caption("A GAN has no encoder: it cannot turn a test digit into a code, so it starts from a prior sample.")
elif data is None:
    st.caption(f"Without the {common.dataset_name()} test set only a prior sample can be the start.")

try:
    if start == DIGIT_START:
        index = int(number_column.number_input("Test digit (index)", min_value=0, max_value=len(data[0]) - 1,
                                               step=1, key="trav_index"))
        original = data[0][index:index + 1]
        z0 = model.encode(original)[0].cpu()
        start_label = f"test digit #{index} (a {int(data[1][index])})"
        signature = (entry.path, start, index)
    else:
        seed = int(number_column.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key="trav_seed"))
        button_column.button("New sample", key="trav_new_sample", on_click=another_sample,
                             icon=":material/casino:")
        original = None
        z0 = prior_code(model, seed)
        start_label = f"prior sample, seed {seed}"
        signature = (entry.path, start, seed)
except ValueError as error:
    st.error(str(error))
    st.stop()

if st.session_state["trav_signature"] != signature:
    # A new start: the range covers the prior (±3σ or its extent) and this code, so the sliders begin
    # exactly on it even when an encoded digit lies outside the prior's bulk.
    reach = float(z0[:shown].abs().max()) * 1.05
    st.session_state["trav_range"] = round(max(latent_range(model.prior), reach), 2)
    st.session_state["trav_start_code"] = z0.tolist()
    st.session_state["trav_signature"] = signature
    reset_sliders()
common.url_state(SLIDER_URL)  # after the start has set the sliders: a shared link's values win
for i in range(shown):  # a slider whose state was dropped (e.g. after visiting another page) restarts on the code
    st.session_state.setdefault(slider_key(i), float(z0[i]))
bound = float(st.session_state["trav_range"])
for i in range(shown):  # a link's value beyond the range is brought inside it
    st.session_state[slider_key(i)] = min(max(float(st.session_state[slider_key(i)]), -bound), bound)

# -- the code: one set of sliders, in the browser where the decoder can run there ---------------------
layers = browser_layers(entry.path, common.card_mtime(entry.path))
st.session_state["trav_live"] = layers is not None
map_points = map_labels = None
if layers is not None and dim == 2:
    codes = common.codes_for(entry)
    if codes is not None and len(codes):
        pick = np.random.default_rng(0).permutation(len(codes))[:2000]
        map_points, map_labels = codes[pick], common.test_set()[1].numpy()[pick]


def take_live_code() -> None:
    """The code the live sliders sent back when a move ended: it becomes the page's code (and the address's)."""
    sent = st.session_state.get(LIVE_KEY)
    if not isinstance(sent, dict) or sent.get("seq") == st.session_state.get("trav_live_seq"):
        return
    st.session_state["trav_live_seq"] = sent.get("seq")
    for i, value in enumerate(list(sent.get("z") or [])[:shown]):
        st.session_state[slider_key(i)] = min(max(float(value), -bound), bound)


@st.fragment
def move_and_sweep(z0: torch.Tensor, bound: float, original: torch.Tensor | None, start_label: str) -> None:
    """The sliders, the digit they decode to and the sweep: a fragment, so a move reruns this part alone (the
    decoder once, the sweep's 11 images), not the start and the interpolation. Where the browser can run the
    decoder, the sliders are its own (they decode as they move) and send the code here when a move ends."""
    st.subheader("Move the code")
    notes = [f"Each slider spans ±{bound:.2f} (the prior's scale, widened to hold the start code if needed)."]
    if dim > shown:
        notes.append(f"This model's code has {dim} dimensions: the sliders move the first {shown}; the other "
                     f"{dim - shown} stay as they are in the start code.")
    if layers is not None:
        take_live_code()
        values = [float(st.session_state[slider_key(i)]) for i in range(shown)]
        shown_start, live_area = st.columns([1, 4], gap="medium")
        shown_start.image(common.digit_image((original if original is not None else model.decode(z0[None]))[0],
                                             scale=4), caption=f"the start: {start_label}", width="stretch")
        with live_area:
            live.show(live.payload(layers, start=(entry.path, st.session_state["trav_signature"]), z0=z0.tolist(),
                                   z=values + z0.tolist()[shown:], bound=bound, shown=shown, map_points=map_points,
                                   map_labels=map_labels, classes=common.class_names(), url="z", report=True),
                      key=LIVE_KEY)
        st.caption("This model's decoder runs in your browser: the digit follows a slider as you drag it"
                   + (" and the pointer as it moves over the map of test codes (click to keep a code)"
                      if map_points is not None else "")
                   + ". When you let go, the sweep below follows. " + " ".join(notes))
    else:
        slider_area, image_area = st.columns([3, 2], gap="large")
        with slider_area:
            columns = st.columns(2)
            values = [columns[i % 2].slider(f"z{i + 1}", min_value=-bound, max_value=bound, step=bound / 50,
                                            format="%.2f", key=slider_key(i)) for i in range(shown)]
            st.button("Reset sliders", key="trav_reset", on_click=reset_sliders, icon=":material/restart_alt:")
            st.caption("This model's decoder is convolutional: the browser cannot run it. Each slider move reruns "
                       "only this section on the server (the sliders, the image and the sweep), not the whole "
                       "page. " + " ".join(notes))

    common.write_url_state({**URL, **SLIDER_URL})
    z = z0.clone()
    z[:shown] = torch.tensor(values, dtype=z.dtype)
    image = common.digit_image(model.decode(z[None])[0], scale=8)
    st.session_state["traversal_image"] = image
    st.session_state["traversal_code"] = z.numpy()

    if layers is None:
        with image_area:
            left, right = st.columns(2)
            if original is not None:
                left.image(common.digit_image(original[0], scale=8), caption=f"the original: {start_label}",
                           width="stretch")
            else:
                left.image(common.digit_image(model.decode(z0[None])[0], scale=8),
                           caption=f"the start: {start_label}", width="stretch")
            right.image(image, caption="decoded from the sliders", width="stretch")

    st.subheader("Sweep one dimension")
    if st.session_state["sweep_dim"] not in range(dim):  # a dimension of the previous, larger model
        st.session_state["sweep_dim"] = 0
    sweep_dim = st.selectbox("Dimension", list(range(dim)), key="sweep_dim", format_func=lambda i: f"z{i + 1}")
    sweep_values = torch.linspace(-bound, bound, SWEEP_STEPS)
    try:
        sweep = decode_all(model, traversal_codes(z, int(sweep_dim), sweep_values))
    except ValueError as error:
        st.error(str(error))
    else:
        st.session_state["sweep_images"] = sweep.numpy()
        st.session_state["sweep_strip"] = common.grid_image(sweep, nrow=SWEEP_STEPS, scale=3)
        st.image(st.session_state["sweep_strip"], width="stretch")
        st.caption(f"z{sweep_dim + 1} from {-bound:.2f} to {bound:.2f} in {SWEEP_STEPS} steps, every other "
                   "dimension as the sliders set it.")


move_and_sweep(z0, bound, original, start_label)

# -- interpolate between two codes --------------------------------------------------------------------
st.subheader("Interpolate")
a_column, b_column, mode_column, steps_column = st.columns(4, vertical_alignment="bottom")
try:
    if can_encode:
        a = int(a_column.number_input("From test digit", min_value=0, max_value=len(data[0]) - 1, step=1,
                                      key="interp_a"))
        b = int(b_column.number_input("To test digit", min_value=0, max_value=len(data[0]) - 1, step=1,
                                      key="interp_b"))
        ends = data[0][[a, b]]
        za, zb = model.encode(ends).cpu()
    else:
        a = int(a_column.number_input("From prior sample (seed)", min_value=0, max_value=MAX_SEED, step=1,
                                      key="interp_seed_a"))
        b = int(b_column.number_input("To prior sample (seed)", min_value=0, max_value=MAX_SEED, step=1,
                                      key="interp_seed_b"))
        ends = None
        za, zb = prior_code(model, a), prior_code(model, b)
    mode = mode_column.radio("Path", ["linear", "spherical"], key="interp_mode", horizontal=True)
    steps = steps_column.slider("Steps", min_value=3, max_value=20, key="interp_steps")
    codes = interpolate(za, zb, steps, mode)
    strip = decode_all(model, codes)
except ValueError as error:
    st.error(str(error))
else:
    if ends is not None:
        strip = torch.cat([ends[:1], strip, ends[1:]])  # the originals frame the decoded path
    st.session_state["interp_codes"] = codes.numpy()
    if layers is not None:  # the same path animated in the browser
        live.show(live.payload(layers, start=("path", entry.path, za.tolist(), zb.tolist(), mode), z0=za.tolist(),
                               bound=bound, shown=0, path=(za.tolist(), zb.tolist(), mode)), key="trav_path_live")
    st.session_state["interp_strip"] = common.grid_image(strip, nrow=len(strip), scale=3)
    st.image(st.session_state["interp_strip"], width="stretch")
    why = ("Spherical interpolation follows the great circle between the codes, keeping their norm; a straight "
           "line passes closer to the origin, where a Gaussian prior has little mass in many dimensions.")
    if ends is not None:
        st.caption(f"First and last: the original test digits #{a} and #{b}; between them, {steps} codes decoded "
                   f"along the {mode} path from the first's code to the second's. {why}")
    else:
        st.caption(f"{steps} codes along the {mode} path between two prior samples (seeds {a} and {b}), decoded. "
                   f"{why}")
