"""Style & content: fix a style z (from the prior, a test digit or an upload) and write it as every digit.

Works with the models whose decoder takes the class beside the code: the supervised AAE (the label is
given) and the semi-supervised AAE (the label is inferred). Rows are styles, columns the ten digits: the
AAE paper's figure 7.

Test hook: `st.session_state["style_upload_bytes"]` holds the bytes of the current upload (the uploader's
callback writes them), so a test can put PNG bytes there and take the path a real upload takes.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from aae.app.digits import NotADigitError, to_mnist
from aae.core import catalog
from aae.lab.paper import paper_error
from aae.lab.report import beside_the_paper_text
from ui import common

PRIOR, TEST, UPLOAD = "prior samples", "test digits", "an upload"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
MAX_SEED = catalog.SEED_MAX

st.session_state.setdefault("style_source", PRIOR)
st.session_state.setdefault("style_n", 6)
st.session_state.setdefault("style_seed", 0)
st.session_state.setdefault("style_index", 0)
st.session_state.setdefault("style_upload_bytes", None)
# What the page shows (for tests and readers): the grid (uint8), the style codes, the source digits' labels
# as the model reads them (semi-supervised only).
st.session_state["style_grid"] = None
st.session_state["style_codes"] = None
st.session_state["style_readings"] = None


def _on_upload() -> None:
    uploaded = st.session_state.get("style_upload")
    st.session_state["style_upload_bytes"] = uploaded.getvalue() if uploaded is not None else None


common.page_header(
    "Style & content",
    "When the decoder is told which digit to write, the code z only has to say *how*: slant, width, size. "
    "Fix one style and write it as every digit — rows are styles, columns the digits 0–9 (the AAE paper's "
    "figure 7).",
    notice=(
        "the paper's Fig. 7: along a row the style (slant, width, stroke) stays while the digit changes; down"
        ' a column the digit stays while the style changes. A row that drifts into another digit is the style'
        ' code carrying class information it should not.'
    ),
)
def infers_the_digit(kind: str) -> bool:
    """A semi-supervised model reads the digit from the image; a supervised one is told it."""
    return catalog.entry(kind).capabilities["categorical"]


entry, model = common.picked_model(kinds=catalog.kinds(conditional=True, uses_labels=True), encoder_required=True,
                                   prefer=lambda e: not infers_the_digit(e.kind))  # the paper's figure-7 model first
if not infers_the_digit(entry.kind):
    st.caption(f"**{entry.name}**: a supervised AAE — during training the decoder got each digit's true label "
               f"and the {entry.latent_dim}-D code was pushed to a Gaussian, so it learnt the style.")
else:
    labels = entry.card.get("config", {}).get("labels_per_class")
    told = "every label" if labels is None else f"{labels * 10} labels"
    paper = paper_error(entry.kind, entry.card.get("config", {}))
    own = entry.card.get("metrics", {}).get("test_error")
    compared = beside_the_paper_text(entry.card, shipped=entry.shipped)
    if compared:
        figures = " " + compared
    else:
        figures = (f" Its test error: **{own:.2%}**" if isinstance(own, float) else "") + \
            (f"; the paper's: {paper}." if paper else ".")
    st.caption(f"**{entry.name}**: a semi-supervised AAE — it inferred the digit itself (trained with {told}); "
               f"the {entry.latent_dim}-D style code is what is left.{figures}")
read = entry.card.get("metrics", {}).get("style_grid_accuracy")
if isinstance(read, float):
    st.caption(f"Measured (`aae eval`): the shipped classifier reads **{read:.1%}** of this model's grid for 50 "
               "prior styles as the digit of its column.")

source = st.radio("Take the styles from", [PRIOR, TEST, UPLOAD], key="style_source", horizontal=True)
sources: torch.Tensor | None = None  # (S, 1, 28, 28): the digits the styles were taken from
if source == PRIOR:
    left, right = st.columns(2)
    n = left.slider("Styles (rows)", 1, 10, key="style_n")
    seed = right.number_input("Seed", 0, MAX_SEED, key="style_seed", help="The same seed draws the same styles.")
    styles = model.sample_styles(n, generator=torch.Generator().manual_seed(int(seed))).cpu()
elif source == TEST:
    data = common.test_set()
    if data is None:
        st.stop()
    left, right = st.columns(2)
    n = left.slider("Styles (rows)", 1, 10, key="style_n")
    start = right.number_input("First test digit", 0, len(data[0]) - n, key="style_index",
                               help="Rows take the styles of test digits number start, start + 1, …")
    sources = data[0][int(start):int(start) + n]
    styles = model.encode(sources.to(model.device)).cpu()
else:
    st.file_uploader("An image of one handwritten digit", type=UPLOAD_TYPES, key="style_upload",
                     on_change=_on_upload)
    payload = st.session_state["style_upload_bytes"]
    if payload is None:
        st.info("Upload a photo or scan of one digit: its style is written as every digit.")
        st.stop()
    try:
        digit = to_mnist(payload)
    except NotADigitError as error:
        st.error(f"That image could not be used: {error}")
        st.stop()
    sources = torch.from_numpy(np.asarray(digit, dtype=np.float32))[None, None]
    styles = model.encode(sources.to(model.device)).cpu()

grid = model.style_grid(styles).cpu()  # (S·K, 1, 28, 28)
k = model.n_content
if sources is not None:  # the source digit first in each row, then the ten digits in its style
    rows = [torch.cat([sources[i:i + 1], grid[i * k:(i + 1) * k]]) for i in range(len(styles))]
    shown, columns = torch.cat(rows), k + 1
else:
    shown, columns = grid, k
names = common.class_names()[:k] if k <= 10 else [str(c) for c in range(k)]
col_labels = (["source"] if sources is not None else []) + names
row_labels = [f"style {i + 1}" for i in range(len(styles))]
bare = common.grid_image(shown, nrow=columns, scale=3)
image = common.label_grid(bare, scale=3, rows=row_labels, cols=col_labels)
st.session_state["style_grid"] = bare
st.session_state["style_grid_labels"] = {"rows": row_labels, "cols": col_labels}
st.session_state["style_grid_shown"] = image
st.session_state["style_codes"] = styles.numpy()
st.image(image, width="stretch")
if sources is not None:
    caption = "First column: the digit each style was taken from; then that style written as 0, 1, …, 9."
    if infers_the_digit(entry.kind):
        probs = model.category_probs(sources.to(model.device)).cpu()
        readings = [(int(p.argmax()), float(p.max())) for p in probs]
        st.session_state["style_readings"] = readings
        caption += " The model reads the sources as " + ", ".join(
            f"{digit} ({share:.0%})" for digit, share in readings) + "."
    st.caption(caption)
else:
    st.caption(f"Each row one style z drawn from the prior N(0, {entry.card['config']['prior']['std']:g}² I), "
               "written as 0, 1, …, 9. Same seed, same styles.")
