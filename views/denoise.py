"""Denoise: corrupt test digits (Gaussian noise, masking, salt & pepper) and see what an AAE gives back.

A denoising AAE was trained on corrupted inputs with clean targets; any other AAE can be put beside it
to see how much of the cleaning is learnt rather than a side effect of any autoencoder's bottleneck.
"""

from __future__ import annotations

import streamlit as st
import torch

from aae.app.explore import denoise
from aae.core import catalog
from aae.core.corruption import CORRUPTIONS
from ui import common

N_MEASURE = 1000  # test digits the errors are measured on
KINDS = [c for c in CORRUPTIONS if c != "none"]
KIND_NAMES = {"gaussian": "Gaussian noise (level = σ)", "masking": "masking (level = share of pixels zeroed)",
              "salt_pepper": "salt & pepper (level = share of pixels set to 0 or 1)"}
NONE = "(none)"

st.session_state.setdefault("denoise_seed", 0)
st.session_state.setdefault("denoise_n", 10)
st.session_state.setdefault("denoise_compare", NONE)
# What the page shows (for tests and readers): the grid (uint8) and the errors {name: mse}.
st.session_state["denoise_grid"] = None
st.session_state["denoise_errors"] = None

common.page_header(
    "Denoise",
    "Damage test digits, encode the damaged image, decode: a denoising AAE learnt to give back the clean "
    "digit. Rows: clean, corrupted, and what each model makes of the corrupted one.",
    notice=(
        "whether the model's row gives back the clean digit or keeps some of the damage, and whether its error "
        "to the clean images is below the corrupted images' own. Put an AAE trained on clean digits beside a "
        "denoising one: what both remove comes from the bottleneck of any autoencoder, what only the denoising "
        "one removes it learnt. Far above the level it was trained on, a row that writes another digit is the "
        "code guessing what was there."
    ),
)
# Its own picker, which starts on a denoising AAE (the other pages' choice is usually a plain one).
if "denoise_model_path" not in st.session_state:
    denoisers = [e for e in common.list_models(kinds=catalog.kinds(denoising=True))
                 if e.card.get("config", {}).get("corruption", "none") != "none"]
    if denoisers:
        st.session_state["denoise_model_path"] = denoisers[0].path
entry, model = common.picked_model(kinds=catalog.kinds(denoising=True), encoder_required=True, key="denoise_model_path")
config = model.config
trained_on = config.corruption if config.corruption != "none" else None
if trained_on:
    st.caption(f"**{entry.name}** is a denoising {catalog.label(entry.kind).split(' (')[0]}, trained on "
               f"{KIND_NAMES[trained_on].split(' (')[0]} at "
               f"level {config.corruption_level:g} with clean targets.")
else:
    st.caption(f"**{entry.name}** was trained on clean digits only: whatever it removes, it removes because its "
               "codes cannot hold noise. Pick a denoising model (e.g. the shipped `denoise`) to see the difference.")
# A shared link's settings first; otherwise the controls start at what the first model was trained on, and keep
# their values when another model is picked (the point is to see two models on the same damage).
URL = {"corruption": ("denoise_kind", common.one_of(KINDS)), "level": ("denoise_level", common.number(0.05, 0.95)),
       "n": ("denoise_n", common.whole(4, 16)), "seed": ("denoise_seed", common.whole(0, catalog.SEED_MAX))}
common.url_state(URL)
st.session_state.setdefault("denoise_kind", trained_on or "gaussian")
st.session_state.setdefault("denoise_level", float(config.corruption_level) if trained_on else 0.5)

data = common.test_set()
if data is None:
    st.stop()
others = [e for e in common.list_models(kinds=catalog.kinds(denoising=True))  # the same images, so the same data
          if e.path != entry.path and e.dataset == entry.dataset]
if st.session_state["denoise_compare"] not in [NONE] + [e.path for e in others]:
    st.session_state["denoise_compare"] = NONE
left, middle, right = st.columns(3)
kind = left.selectbox("Corruption", KINDS, key="denoise_kind", format_func=lambda k: KIND_NAMES[k])
level = middle.slider("Level", 0.05, 0.95, step=0.05, key="denoise_level")
compare_path = right.selectbox("Compare with", [NONE] + [e.path for e in others], key="denoise_compare",
                               format_func=lambda p: p if p == NONE else next(e.label for e in others if e.path == p))
left, right = st.columns(2)
n = left.slider("Digits shown", 4, 16, key="denoise_n")
seed = right.number_input("Seed", 0, catalog.SEED_MAX, key="denoise_seed", help="Picks the digits and the noise.")
common.write_url_state(URL)

pick = torch.randperm(len(data[0]), generator=torch.Generator().manual_seed(int(seed)))[:N_MEASURE]
clean = data[0][pick]
noisy, denoised = denoise(model, clean, kind, float(level), seed=int(seed))
rows = [("clean", clean), ("corrupted", noisy), (entry.name, denoised)]
if compare_path != NONE:
    other = common.load(compare_path)
    rows.append((other.name, denoise(other.model, clean, kind, float(level), seed=int(seed))[1]))

grid = common.grid_image(torch.cat([images[:n] for _, images in rows]), nrow=int(n), scale=3)
st.session_state["denoise_grid"] = grid
shown = common.label_grid(grid, scale=3, rows=[name for name, _ in rows],
                          cols=[f"#{int(i)}" for i in pick[:n]])  # each column one test digit, by its index
st.session_state["denoise_grid_shown"] = shown
st.session_state["denoise_grid_labels"] = {"rows": [name for name, _ in rows], "cols": [int(i) for i in pick[:n]]}
st.image(shown, width="stretch")
st.caption("Rows, top to bottom: " + ", ".join(name for name, _ in rows) + ".")

errors = {name: float((images - clean).pow(2).mean()) for name, images in rows[1:]}
st.session_state["denoise_errors"] = errors
cols = st.columns(len(errors))
for col, (name, value) in zip(cols, errors.items()):
    col.metric(f"MSE to clean: {name}", f"{value:.4f}")
st.caption(f"Mean squared error per pixel against the clean digits, over {len(clean):,} test digits "
           "(the seed picks them and the noise).")
