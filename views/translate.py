"""Translate: a CycleGAN's two ways between its domains (MNIST and 8×8 digits, or MNIST and Fashion-MNIST), on
test images and on a digit you upload or draw, with how often the class survives and where it does not.

Test hooks: `st.session_state["translate_upload_bytes"]` holds the bytes of the current upload (the uploader's
callback writes it); the page leaves what it shows in `translate_grid` (uint8: test images, translations, round
trips), `translate_result` (the user's digit: aae.core.metrics.translation.translate_one's dict) and
`translate_figures` (the class-preservation figures shown, from the model's card).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from aae.app.digits import array_to_mnist, to_mnist
from aae.core import catalog
from aae.core.data import as_float
from aae.core.domains import DOMAIN_TITLES, class_names, load_domain, pair, to_domain
from aae.core.metrics.evaluate import METRICS, metric_label
from aae.core.metrics.translation import TRANSLATION_KEYS, naive_margin, translate_one, where_it_fails
from aae.core.models.cyclegan import translation_grid
from ui import common

try:  # the canvas is optional: without it, uploads and test images still work
    from streamlit_drawable_canvas import st_canvas
except Exception as canvas_error:  # any import failure only disables drawing
    st_canvas, CANVAS_PROBLEM = None, f"{type(canvas_error).__name__}: {canvas_error}"
else:
    CANVAS_PROBLEM = ""

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
CANVAS_SIDE = 280

st.session_state.setdefault("translate_upload_bytes", None)
st.session_state.setdefault("translate_seed", 0)
st.session_state["translate_grid"] = None
st.session_state["translate_result"] = None
st.session_state["translate_figures"] = None


def _on_upload() -> None:
    uploaded = st.session_state.get("translate_upload")
    st.session_state["translate_upload_bytes"] = uploaded.getvalue() if uploaded is not None else None


@common.releasable
@st.cache_resource(show_spinner=False, max_entries=4)  # the domains of a pair or two, shared by every session
def _test_images(domain: str, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A domain's test images as stored (uint8 for MNIST: a quarter of float32's 30 MB) and labels."""
    splits = load_domain(domain, data_dir=root, test=True)
    return splits.images("test"), splits.test_y


common.page_header(
    "Translate",
    "A CycleGAN learns two translations between two sets of images without any pairs: each way has a generator, "
    "a discriminator that tells its output from the target's real images, and a round trip that must come back. "
    "Rows of the grid: test images, their translations, and the translations translated back.",
    notice="whether a translated digit is still the same digit: the classifier of the target domain reads it.",
)

# --- model, pair and direction ------------------------------------------------------------------------
entries = common.list_models(kinds=catalog.kinds(translates=True))
if not entries:
    st.info("No translation models yet. Train one with `aae train --recipe cyclegan-mnist-digits8`.")
    st.stop()
pairs = list(dict.fromkeys(e.card.get("config", {}).get("pair", "") for e in entries))
side = st.sidebar
pair_name = side.selectbox("Pair of domains", pairs, key="translate_pair", format_func=lambda p: pair(p).summary)
of_pair = [e for e in entries if e.card.get("config", {}).get("pair") == pair_name]
paths = [e.path for e in of_pair]
path = side.selectbox("Model", paths, key="translate_model_path",
                      format_func=lambda p: f"{of_pair[paths.index(p)].name} "
                                            f"({'shipped' if of_pair[paths.index(p)].shipped else 'yours'})")
entry = of_pair[paths.index(path)]
model = common.load(entry.path).model
domains = pair(pair_name)
direction = side.radio("Direction", ["ab", "ba"], key="translate_direction", format_func=domains.title)
source, target = domains.domain(direction)
back = "ba" if direction == "ab" else "ab"

left, right = st.columns([3, 2], gap="large")

# --- test images ---------------------------------------------------------------------------------------
with left:
    st.subheader(domains.title(direction))
    controls = st.columns([2, 1, 1], vertical_alignment="bottom")
    n = controls[0].select_slider("Test images", [10, 20, 30], value=10, key="translate_n")
    controls[1].number_input("Seed", min_value=0, max_value=catalog.SEED_MAX, step=1, key="translate_seed")
    controls[2].button("Other images", key="translate_other",
                       on_click=lambda: st.session_state.update(translate_seed=st.session_state["translate_seed"] + 1))
    try:
        test_x, test_y = _test_images(source, str(common.data_dir()))
    except FileNotFoundError as error:
        st.warning(str(error))
        test_x = None
    if test_x is not None:
        generator = torch.Generator().manual_seed(int(st.session_state["translate_seed"]))
        picked = torch.randperm(len(test_x), generator=generator)[:n]
        grid = common.grid_image(translation_grid(model, as_float(test_x[picked]), direction), nrow=n, scale=3,
                                 row_labels=[DOMAIN_TITLES[source], DOMAIN_TITLES[target], "round trip"])
        st.session_state["translate_grid"] = grid
        st.image(grid, width="stretch")
        names = class_names(source)
        st.caption("Classes of these test images: " + ", ".join(names[int(y)] for y in test_y[picked]))

    # --- the user's digit -------------------------------------------------------------------------------
    st.subheader("Your digit")
    tab_upload, tab_draw = st.tabs(["Upload", "Draw"])
    with tab_upload:
        st.file_uploader("An image of one handwritten digit", type=UPLOAD_TYPES, key="translate_upload",
                         on_change=_on_upload)
    with tab_draw:
        canvas = None
        if st_canvas is None:
            st.info(f"The drawing canvas is not available here ({CANVAS_PROBLEM}); upload a file instead.")
        else:
            canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                               height=CANVAS_SIDE, width=CANVAS_SIDE, drawing_mode="freedraw",
                               return_image_data=True, key="translate_canvas")
    digit = None
    try:
        if canvas is not None and ((canvas.json_data or {}).get("objects") or []):
            digit = array_to_mnist(canvas.image_data)
        elif st.session_state["translate_upload_bytes"] is not None:
            digit = to_mnist(st.session_state["translate_upload_bytes"])
    except ValueError as error:  # NotADigitError says what to do
        st.error(str(error))
    except Exception as error:  # untrusted bytes: a message, never a traceback
        st.error(f"This could not be turned into a digit ({type(error).__name__}: {error}).")
    if digit is None:
        st.caption(f"Upload or draw a digit: it is brought into {DOMAIN_TITLES[source]} form and translated.")
    else:
        image = to_domain(torch.from_numpy(np.asarray(digit, dtype=np.float32)), source)[0, 0]
        result = translate_one(model, image, direction)
        st.session_state["translate_result"] = result
        cols = st.columns(3)
        for col, key, caption in ((cols[0], "input", f"as {DOMAIN_TITLES[source]}"),
                                  (cols[1], "translated", f"in {DOMAIN_TITLES[target]} style"),
                                  (cols[2], "round_trip", "and back")):
            col.image(common.digit_image(result[key], scale=6), caption=caption, width="stretch")
        st.markdown(f"The {DOMAIN_TITLES[target]} classifier reads the translation as **{result['read']}** "
                    f"({result['confidence']:.0%} sure); the untranslated image as "
                    f"**{result['read_untranslated']}**.")

# --- class preservation -----------------------------------------------------------------------------------
with right:
    st.subheader("Does the class survive?")
    metrics = entry.card.get("metrics") or {}
    keys = [f"{k}_{direction}" for k in ("class_preservation", "class_preservation_untranslated",
                                         "class_preservation_pixels", *TRANSLATION_KEYS[1:])]
    figures = {k: metrics[k] for k in keys if isinstance(metrics.get(k), (int, float))}
    if not figures:
        st.info(f"{entry.name} has not been measured yet: `aae eval {entry.path} --write` stores its figures "
                "(each way, on the test images) in its card.")
    else:
        st.session_state["translate_figures"] = figures
        shown = list(figures.items())
        for row in range(0, len(shown), 2):
            for col, (key, value) in zip(st.columns(2), shown[row:row + 2]):
                percent = key.startswith("class_")
                col.metric(metric_label(key), f"{value:.1%}" if percent else f"{value:.3g}",
                           help=f"{METRICS[key].label.strip()}: {METRICS[key].direction}. {METRICS[key].help}")
        margin = naive_margin(metrics, direction)
        data = metrics.get("translation_data", {})
        if margin is not None:
            images = data.get("images", {}).get("a" if direction == "ab" else "b")
            seed = entry.card.get("training", {}).get("seed")
            st.caption(f"Translating adds **{margin * 100:+.1f} points** to what the {DOMAIN_TITLES[target]} "
                       f"classifier reads in the untranslated {DOMAIN_TITLES[source]} test images "
                       f"({f'{images:,}' if isinstance(images, int) else '?'} images"
                       + (f"; this model, trained with seed {seed})." if seed is not None else ")."))
        table = metrics.get(f"translation_confusion_{direction}")
        if table:
            st.markdown("**Where translation fails** (test images of a class, read as another)")
            fails = where_it_fails(table, class_names(source), class_names(target), same_classes=domains.same_classes)
            st.dataframe(pd.DataFrame(fails), hide_index=True, width="stretch",
                         column_config={"share of the class": st.column_config.NumberColumn(format="percent")})
            with st.expander("Confusion table: rows the source class, columns the class read"):
                st.dataframe(pd.DataFrame(table, index=class_names(source), columns=class_names(target)),
                             width="stretch")
