"""Style space: a StyleGAN's two latent spaces side by side, its style-mixing grid, truncation, and per-layer noise."""

from __future__ import annotations

import streamlit as st

from aae.app.style_space import crossover_choices, mixing_grid, noise_redraws, path_images, style_codes
from aae.core import catalog
from ui import common

# -- session state ---------------------------------------------------------------------------------
MAX_SEED = catalog.SEED_MAX
PATH_STEPS = 9
st.session_state.setdefault("style_seed_a", 0)
st.session_state.setdefault("style_seed_b", 1)
st.session_state.setdefault("style_psi", 1.0)
st.session_state.setdefault("style_t", 0.5)
st.session_state.setdefault("style_row_seed", 10)
st.session_state.setdefault("style_col_seed", 20)
st.session_state.setdefault("style_noise_seed", 0)
# What the page shows, for tests and readers: the two path strips and the mixing grid (uint8), the noise images.
st.session_state.setdefault("style_z_strip", None)
st.session_state.setdefault("style_w_strip", None)
st.session_state.setdefault("style_mix_grid", None)
st.session_state.setdefault("style_noise", None)


def redraw_noise() -> None:
    st.session_state["style_noise_seed"] = (int(st.session_state["style_noise_seed"]) + 1) % MAX_SEED


common.page_header(
    "Style space",
    "A StyleGAN maps its noise z to a style code w, and every layer of the generator takes its own copy of w. "
    "Walk between two digits in Z and in W, mix the coarse styles of one digit with the fine styles of another, "
    "pull every w towards the average one, and re-draw the noise each layer adds.",
    notice=(
        "a straight walk in W changes the digit more evenly than the same walk in Z, where the mapping network "
        "has bent the path (`aae eval` scores it as a perceptual path length, lower in W); in the mixing grid the "
        "rows keep their digit and pose (coarse styles) while the columns lend stroke weight and texture (fine "
        "styles), as in StyleGAN's figure 3; truncation ψ → 0 turns every sample into the average digit; "
        "fresh noise only moves stroke edges (figure 4)."
    ),
)
entry, model = common.picked_model(kinds=catalog.kinds(style_space=True))
URL = {"a": ("style_seed_a", int), "b": ("style_seed_b", int), "psi": ("style_psi", float)}
common.url_state(URL)
noun = "digit" if entry.dataset == "mnist" else "image"  # a Fashion-MNIST StyleGAN draws clothes

top = st.columns([1, 1, 2], vertical_alignment="bottom")
seed_a = int(top[0].number_input(f"Seed of {noun} A", min_value=0, max_value=MAX_SEED, step=1, key="style_seed_a"))
seed_b = int(top[1].number_input(f"Seed of {noun} B", min_value=0, max_value=MAX_SEED, step=1, key="style_seed_b"))
psi = float(top[2].slider("Truncation ψ", min_value=0.0, max_value=1.0, step=0.05, key="style_psi",
                          help="every w is pulled towards the average w: w̄ + ψ·(w − w̄); 1 = no truncation"))
common.write_url_state(URL)
z_a, z_b = style_codes(model, [seed_a, seed_b])


# -- paths in Z and in W ------------------------------------------------------------------------------
@st.fragment
def paths() -> None:
    """The slider and the two images it picks: a fragment, so a move redraws this section alone."""
    st.subheader("From A to B, in Z and in W")
    t = float(st.slider("Position on the path (0 = A, 1 = B)", 0.0, 1.0, step=0.05, key="style_t"))
    left, right = st.columns(2, gap="large")
    for column, space, title in ((left, "z", "in Z (slerp between the codes)"),
                                 (right, "w", "in W (a straight line between their styles)")):
        image = path_images(model, z_a, z_b, [t], space=space, psi=psi)[0]
        # a fixed width: left to its content, each image took the width of its caption, so Z and W differed
        column.image(common.digit_image(image, scale=6), caption=f"{title}, t = {t:.2f}", width=280)
    ts = [i / (PATH_STEPS - 1) for i in range(PATH_STEPS)]
    for space, label in (("z", "Z"), ("w", "W")):
        strip = common.grid_image(path_images(model, z_a, z_b, ts, space=space, psi=psi), nrow=PATH_STEPS)
        st.session_state[f"style_{space}_strip"] = strip
        st.image(strip, caption=f"the whole path in {label}, {PATH_STEPS} steps", width="stretch")


paths()

# -- style mixing ------------------------------------------------------------------------------------------
st.subheader("Style mixing")
choices = crossover_choices(model)
mix_columns = st.columns([2, 1, 1], vertical_alignment="bottom")
kept = mix_columns[0].selectbox("The rows keep their styles at", list(choices), key="style_crossover")
row_seed = int(mix_columns[1].number_input("Row seeds from", min_value=0, max_value=MAX_SEED, step=1,
                                           key="style_row_seed"))
col_seed = int(mix_columns[2].number_input("Column seeds from", min_value=0, max_value=MAX_SEED, step=1,
                                           key="style_col_seed"))
rows, cols = style_codes(model, range(row_seed, row_seed + 4)), style_codes(model, range(col_seed, col_seed + 6))
grid = mixing_grid(model, rows, cols, choices[kept], psi=psi)
image = common.grid_image(grid.images, nrow=grid.cols + 1)
st.session_state["style_mix_grid"] = image
st.image(image, width="stretch")
st.caption(f"Top row: the column sources; left column: the row sources. Each cell has its row's styles at "
           f"{kept.split(' (')[0]} and its column's styles at every finer layer (crossover at layer {grid.crossover} "
           f"of {model.n_style_layers}).")

# -- noise ----------------------------------------------------------------------------------------------------
st.subheader("Per-layer noise")
noise_columns = st.columns([3, 1], vertical_alignment="bottom")
noise_columns[1].button("Re-draw the noise", key="style_redraw", on_click=redraw_noise, icon=":material/casino:")
drawn = noise_redraws(model, z_a, 6, seed=int(st.session_state["style_noise_seed"]), psi=psi)
st.session_state["style_noise"] = drawn
noise_columns[0].image(common.grid_image(drawn.redraws, nrow=6), width="stretch",
                       caption=f"{noun} A with six fresh draws of every layer's noise")
spread_columns = st.columns(4)
spread_columns[0].image(common.digit_image(drawn.stored[0], scale=4), caption="with the stored noise")
spread_columns[1].image(common.digit_image(drawn.spread[0], scale=4),
                        caption=f"where the draws differ (std., white = {drawn.spread_max:.3f})")
