"""Encode a digit: upload, draw or pick one, see it turned into MNIST form, encoded, reconstructed and placed
on the latent map of the test set with its nearest neighbours and the class its code is closest to.

Test hook: `st.session_state["upload_bytes"]` holds the bytes of the current upload and is the only thing
the Upload tab reads. The file uploader's callback writes the chosen file's bytes there (and clears them
when the file is removed), so a test that puts PNG bytes in `upload_bytes` takes exactly the path a real
upload takes (`aae.app.digits.to_mnist_steps(bytes)`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from aae.app.digits import array_to_mnist_steps, to_mnist_steps
from aae.app.explore import nearest, to_png
from aae.app.projections import majority_class, nearest_component, project
from aae.core import catalog
from aae.core.metrics import reconstruction_error
from ui import common
from ui.canvas import toolbar_room

try:  # the canvas is an optional component: without it the Upload and Test digit tabs still work
    from streamlit_drawable_canvas import st_canvas
except Exception as canvas_error:  # any import failure only disables drawing
    st_canvas = None
    CANVAS_PROBLEM = f"{type(canvas_error).__name__}: {canvas_error}"
else:
    CANVAS_PROBLEM = ""

# --- session state ----------------------------------------------------------------------------------
st.session_state.setdefault("upload_bytes", None)  # bytes of the current upload (see the docstring)
st.session_state.setdefault("upload_name", None)
st.session_state["encode_input"] = None  # np.ndarray (28, 28) in [0, 1]: the digit in MNIST form, as encoded
st.session_state["encoded_code"] = None  # np.ndarray (D,) of the digit shown, set below
st.session_state["reconstruction"] = None  # np.ndarray (28, 28) in [0, 1]
st.session_state["encode_neighbours"] = []  # test-set indices of the nearest codes, nearest first
st.session_state["encode_closest"] = None  # {"label", "share", "k", "component"}

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
N_NEIGHBOURS = 8
K_CLASS = 10  # neighbours that vote on the closest class
CANVAS_SIDE = 280  # 10× MNIST, drawn white on black like MNIST itself
MAPS = ["PCA", "dimensions 1 and 2"]  # how codes of more than two dimensions are drawn on the plane
st.session_state.setdefault("encode_map", MAPS[0])


def _on_upload() -> None:
    """Copy the uploaded file's bytes into the test hook (or clear it when the file is removed)."""
    uploaded = st.session_state.get("encode_upload")
    st.session_state["upload_bytes"] = uploaded.getvalue() if uploaded is not None else None
    st.session_state["upload_name"] = uploaded.name if uploaded is not None else None


def _clear_upload() -> None:
    st.session_state["upload_bytes"] = None
    st.session_state["upload_name"] = None


def _random_test_index() -> None:
    st.session_state["encode_test_index"] = int(np.random.default_rng().integers(0, 10_000))


# --- header and model --------------------------------------------------------------------------------
common.page_header(
    "Encode a digit",
    "Upload a photo or scan of one handwritten digit, draw one, or pick a test digit. It is turned into "
    "MNIST form step by step, encoded by the model, decoded again, and placed among the test set's codes.",
)
entry, model = common.picked_model(kinds=catalog.kinds(encoder=True, conditional=False, categorical=False),
                                   encoder_required=True)
URL = {"map": ("encode_map", common.one_of(MAPS))}
common.url_state(URL)  # a shared link opens this view
names = common.class_names()  # what each label is called in the model's dataset

data = common.test_set()  # None (after an info message) when MNIST is absent; encoding still works

# --- input ---------------------------------------------------------------------------------------------
tab_upload, tab_draw, tab_test = st.tabs(["Upload", "Draw", "Test digit"], key="encode_tab", on_change="rerun")

with tab_upload:
    st.file_uploader(
        "An image of one handwritten digit", type=UPLOAD_TYPES, key="encode_upload", on_change=_on_upload,
        help="Dark pen on light paper or light on dark; a photo, a scan or a screenshot. One digit per image.",
    )
    if st.session_state["upload_bytes"] is not None and st.session_state.get("encode_upload") is None:
        # The uploader forgets its file when the user visits another page; the bytes are still here.
        name = st.session_state["upload_name"] or "an earlier upload"
        st.caption(f"Showing {name}.")
        st.button("Forget it", key="encode_forget_upload", on_click=_clear_upload)

with tab_draw:
    canvas = None
    if st_canvas is None:
        st.info(f"The drawing canvas is not available here ({CANVAS_PROBLEM}). Upload a file or pick a test "
                "digit instead.")
    else:
        toolbar_room()  # its toolbar shows above it, over the tabs without this room
        canvas = st_canvas(
            stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_SIDE,
            width=CANVAS_SIDE, drawing_mode="freedraw", return_image_data=True, key="encode_canvas",
        )
        st.caption("Draw one digit large, filling most of the square. The toolbar over the canvas undoes a "
                   "stroke or clears it (bin icon).")

with tab_test:
    if data is None:
        st.info(f"Test images need the {common.dataset_name()} test set (see the note above).")
    else:
        pick, shuffle = st.columns([3, 1], vertical_alignment="bottom")
        pick.number_input("Test image index", min_value=0, max_value=len(data[1]) - 1, value=0, step=1,
                          key="encode_test_index",
                          help=f"Any of the {len(data[1]):,} {common.dataset_name()} test images, by position.")
        shuffle.button("Random", key="encode_random", on_click=_random_test_index)

# Whichever tab is open is the input; each tab keeps its own input meanwhile.
if tab_draw.open:
    source = "draw"
elif tab_test.open:
    source = "test"
else:
    source = "upload"

steps: list[tuple[str, np.ndarray]] | None = None
image: np.ndarray | None = None  # (28, 28) float32 in [0, 1], white on black
true_label: int | None = None
if source == "upload":
    payload = st.session_state["upload_bytes"]
    if payload is None:
        st.info("Choose an image file above, or use the **Draw** or **Test digit** tab.")
    else:
        try:
            steps = to_mnist_steps(payload)
        except ValueError as error:  # NotADigitError is a ValueError; its message says what to do
            st.error(str(error))
        except Exception as error:  # untrusted bytes: any failure is a bad file, never a traceback
            st.error(f"This file could not be turned into a digit ({type(error).__name__}: {error}).")
elif source == "draw" and canvas is not None:
    objects = (canvas.json_data or {}).get("objects") or []
    drawing = canvas.image_data if objects else None
    if drawing is None:
        st.info("Draw a digit on the canvas.")
    else:
        try:
            steps = array_to_mnist_steps(drawing)
        except ValueError as error:
            st.error(str(error))
        except Exception as error:  # a canvas from a newer component version: say so, never a traceback
            st.error(f"The drawing could not be turned into a digit ({type(error).__name__}: {error}).")
elif source == "test" and data is not None:
    test_index = int(st.session_state.get("encode_test_index", 0))
    image = data[0][test_index, 0].numpy()
    true_label = int(data[1][test_index])
if steps is not None:
    image = steps[-1][1]
if image is None:
    st.stop()

# --- from picture to MNIST form ----------------------------------------------------------------------
if steps is not None:
    st.subheader("From picture to MNIST form")
    for column, (number, (title, array)) in zip(st.columns(len(steps)), enumerate(steps, start=1)):
        height, width = array.shape
        # Each at its true aspect ratio in a square of one size: a tall crop is not drawn many times taller.
        column.image(common.thumbnail(array), caption=f"{number}. {title} ({width}×{height})", width="stretch")
else:
    st.caption(f"Test image #{test_index} ({names[true_label]}) is already in the 28×28 form the model reads.")

# --- code and reconstruction ------------------------------------------------------------------------
x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(1, 1, 28, 28)
code = model.encode(x)[0].cpu().numpy().astype(np.float32)
reconstruction = model.decode(torch.from_numpy(code)[None])[0, 0].cpu().numpy()
st.session_state["encode_input"] = np.asarray(image, dtype=np.float32)
st.session_state["encoded_code"] = code
st.session_state["reconstruction"] = reconstruction

st.subheader("Its code and reconstruction")
left, middle, right = st.columns([1, 1, 2])
left.image(common.digit_image(image, scale=6), caption="input, 28×28")
middle.image(common.digit_image(reconstruction, scale=6), caption="reconstruction")
error = reconstruction_error(x, torch.from_numpy(reconstruction).reshape(1, 1, 28, 28))
right.markdown(f"**Code** ({entry.latent_dim}-D, {entry.kind.upper()} {entry.prior} prior)")
right.dataframe(pd.DataFrame({"dimension": [f"z{i + 1}" for i in range(len(code))], "value": code}),
                hide_index=True, height="auto" if len(code) <= 8 else 320)
right.caption(f"Reconstruction error: BCE {error['bce']:.1f} nats, MSE {error['mse']:.4f} per pixel.")
right.download_button("Download the 28×28 image (PNG)", to_png(image), file_name="digit_28x28.png",
                      mime="image/png", key="encode_download_png")

# --- closest class and prior component ------------------------------------------------------------------
label_regularized = bool(getattr(model.config, "label_regularized", False)) and model.prior.supports_labels
component = None
if label_regularized:
    component, component_distance = nearest_component(model.prior, code)

# --- the map of the test set --------------------------------------------------------------------------
st.subheader("Where it lands among the test images")
if data is None:
    st.info(f"The latent map, the nearest neighbours and the closest class need the {common.dataset_name()} test "
            "set (see the note at the top).")
    if component is not None:
        st.metric("Nearest prior component", f"{component}", help="The part of the label-regularised prior the "
                  "model was trained to put this class in.")
    st.stop()

codes = common.codes_for(entry)
labels = data[1].numpy()
if entry.latent_dim > 2:
    view = st.selectbox("Map", MAPS, **common.kept("encode_map", MAPS),
                        help="PCA: the plane the codes vary most in (fitted on the 10,000 test codes). "
                             "t-SNE and UMAP are on the AAE vs VAE page: they cannot place a new point.")
    common.write_url_state(URL)
    if view == MAPS[0]:
        # One extra point among 10,000 barely moves the fitted plane, and so lands where a transform would.
        xy = project(np.vstack([codes, code[None]]), "pca")
        axis_names = ("PC 1", "PC 2")
    else:
        xy = np.vstack([codes, code[None]])[:, :2]
        axis_names = ("z1", "z2")
    st.caption(f"Shown: {view} of the {entry.latent_dim}-D codes.")
else:  # a 2-D code is its own map; the choice above is kept for the next model with more dimensions
    xy = np.vstack([codes, code[None]]) if entry.latent_dim == 2 else project(np.vstack([codes, code[None]]), "pca")
    axis_names = ("z1", "z2")
    st.query_params.pop("map", None)
    st.caption(f"Shown: the {entry.latent_dim}-D codes themselves.")
test_xy, star_xy = xy[:-1], xy[-1]

# A test digit is not its own neighbour: leave it out of the neighbours and of the vote.
pool = np.arange(len(labels)) if source != "test" else np.delete(np.arange(len(labels)), test_index)
pool_codes = codes[pool]
neighbour_index = pool[nearest(torch.from_numpy(pool_codes), torch.from_numpy(code), k=N_NEIGHBOURS).numpy()]
neighbour_distance = np.linalg.norm(codes[neighbour_index] - code[None], axis=1)
closest_label, share, _ = majority_class(pool_codes, labels[pool], code, k=K_CLASS)
st.session_state["encode_neighbours"] = [int(i) for i in neighbour_index]
st.session_state["encode_closest"] = {"label": closest_label, "share": share, "k": K_CLASS, "component": component}

figure = go.Figure()
common.enable_hover()  # a test digit's image when the pointer is over its code
common.add_digit_traces(figure, test_xy, labels, opacity=0.55)
# WebGL traces draw above SVG ones whatever their order, so the neighbours and the star are WebGL too, added
# after the test codes: they stay on top where the code lands in a dense region (the usual case).
figure.add_trace(go.Scattergl(
    x=test_xy[neighbour_index, 0], y=test_xy[neighbour_index, 1], mode="markers", name=f"{N_NEIGHBOURS} nearest",
    marker={"symbol": "circle-open", "size": 11, "color": "black", "line": {"width": 1.5}},
    customdata=np.stack([labels[neighbour_index], neighbour_index], axis=1),
    text=[names[int(label)] for label in labels[neighbour_index]],
    hovertemplate="neighbour: %{text} · test #%{customdata[1]}<extra></extra>",
    meta=common.test_digits_meta(),
))
figure.add_trace(go.Scattergl(
    x=[float(star_xy[0])], y=[float(star_xy[1])], mode="markers", name="your image",
    marker={"symbol": "star", "size": 24, "color": "gold", "line": {"width": 1.5, "color": "black"}},
    hovertemplate="your image<extra></extra>",
))
figure.update_layout(
    height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10},
    legend={"title": {"text": "class"}, "itemsizing": "constant"},
    xaxis_title=axis_names[0], yaxis_title=axis_names[1],
)
figure.update_yaxes(scaleanchor="x", scaleratio=1)  # equal units: distances on screen are distances in code
event = st.plotly_chart(figure, key="encode_map_chart", on_select="rerun", selection_mode="points")
st.session_state["encode_clicked"] = common.show_clicked_digit(event, model, codes, data[0])

# --- nearest neighbours and closest class -----------------------------------------------------------------
st.subheader(f"Its {N_NEIGHBOURS} nearest test images in code space")
for column, index, distance in zip(st.columns(N_NEIGHBOURS), neighbour_index, neighbour_distance):
    column.image(common.digit_image(data[0][int(index)], scale=3),
                 caption=f"{names[int(labels[index])]} · d = {distance:.3g}")
st.caption(f"Distances are Euclidean in the {entry.latent_dim}-D code space (not on the map); #index in the test "
           "set shows on hover in the map.")

one, two = st.columns(2)
one.metric(
    "Closest class", names[int(closest_label)],
    delta=f"{round(share * K_CLASS)} of the {K_CLASS} nearest test codes", delta_color="off", delta_arrow="off",
    help=f"The most common class among the {K_CLASS} test images whose codes are nearest to this one.",
)
if true_label is not None:
    one.caption(f"The test image's true class is {names[true_label]}.")
if component is not None:
    two.metric(
        "Nearest prior component", f"{component}", delta=f"distance {component_distance:.2f}", delta_color="off",
        delta_arrow="off",
        help="This model was trained with labels: each class was pushed into its own part of the "
             f"{entry.prior} prior. This is the part whose centre (or nearest prior draw) is closest to the code.",
    )
