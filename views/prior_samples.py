"""Prior & samples: draw codes from a prior, see them over its density beside the encoded test set, decode them."""

from __future__ import annotations

from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from aae.app.explore import cycled_labels, manifold, plane_density, to_png
from aae.core import catalog
from aae.core.inference import decode_all
from aae.core.priors import Prior, PriorConfig, describe_prior, make_prior
from ui import common

# -- session state ---------------------------------------------------------------------------------
MAX_SEED = catalog.SEED_MAX
st.session_state.setdefault("prior_choice", "own")  # the model's own (own_key) or a key of ALTERNATIVES
st.session_state.setdefault("n_samples", 100)
st.session_state.setdefault("samples_seed", 0)
st.session_state.setdefault("manifold_n", 20)
# What the page shows, kept for tests and for a reader of the session: the decoded grid (uint8), the
# plotted prior samples (N, 2), and the manifold grid (uint8, None when the latent space is not 2-D).
st.session_state.setdefault("samples_grid", None)
st.session_state.setdefault("prior_points", None)
st.session_state.setdefault("manifold_grid", None)

# The priors a user can swap in. Decoding from one the model was not trained on is the point of offering
# them: it shows what the decoder does with codes it never saw.
ALTERNATIVES: dict[str, PriorConfig] = {
    "gaussian:1": PriorConfig("gaussian", 1.0),
    "gaussian:5": PriorConfig("gaussian", 5.0),
    "mog10:1": PriorConfig("mog10", 1.0),
    "swissroll:1": PriorConfig("swissroll", 1.0),
    "uniform:1": PriorConfig("uniform", 1.0),
}
Q_Z_POINTS = 3000  # encoded test digits drawn on the scatter; more only hides the prior under them


def clicked_point(event) -> list[float] | None:
    """The (x, y) of the point last clicked on the scatter (a prior sample or an encoded test digit), or None."""
    points = event["selection"]["points"] if event else []
    if not points:
        return None
    return [float(points[0]["x"]), float(points[0]["y"])]


def own_key(own: PriorConfig) -> str:
    """The option of the model's own prior. It names the prior, so after a switch to a model with another prior
    the remembered choice is not in the options any more and the box shows the new model's own."""
    return f"own:{own.name}:{own.std:g}"


def prior_options(own: PriorConfig, dim: int) -> list[str]:
    """The model's own first, then every alternative that exists in `dim` dimensions and differs from it."""
    options = [own_key(own)]
    for key, config in ALTERNATIVES.items():
        if (config.name, config.std) == (own.name, own.std):
            continue
        try:
            make_prior(config, dim)
        except ValueError:  # the mixture and the swiss roll are 2-D only
            continue
        options.append(key)
    return options


@st.cache_data(show_spinner=False, max_entries=64)
def density(name: str, std: float, n_classes: int, dim: int, extent: float) -> tuple[np.ndarray, ...]:
    xs, ys, dens = plane_density(make_prior(PriorConfig(name, std, n_classes), dim), extent=extent)
    return xs.numpy(), ys.numpy(), dens.numpy()


def new_samples() -> None:
    """The "New samples" button: a fresh seed, different from the one shown."""
    old = int(st.session_state.get("samples_seed", 0))
    rng = np.random.default_rng()
    new = old
    while new == old:
        new = int(rng.integers(0, MAX_SEED))
    st.session_state["samples_seed"] = new


def scatter_figure(prior: Prior, config: PriorConfig, z: np.ndarray, codes: np.ndarray | None,
                   code_labels: np.ndarray | None, code_indices: np.ndarray | None, square: float | None) -> go.Figure:
    """Prior samples over the prior's density, with the encoded test set q(z) coloured by digit."""
    spread = [np.abs(z).max()]
    if codes is not None and len(codes):
        spread.append(np.quantile(np.abs(codes), 0.995))  # a few far-off codes should not shrink the picture
    lim = round(float(max(prior.extent(), *spread)) * 1.05, 2)
    xs, ys, dens = density(config.name, config.std, config.n_classes, prior.dim, lim)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=xs, y=ys, z=dens, colorscale=[[0, "#ffffff"], [1, "#8fb3e8"]], showscale=False,
                             hoverinfo="skip", name="p(z) density"))
    if codes is not None and code_labels is not None:
        # SVG, so the prior samples' crosses added next stay on top of the codes.
        common.add_digit_traces(fig, codes, code_labels, indices=code_indices, opacity=0.7, webgl=False,
                                legend_group="q", legend_title="q(z) by class")
    fig.add_trace(go.Scatter(x=z[:, 0], y=z[:, 1], mode="markers", name="prior samples", legendgroup="p",
                             marker=dict(size=6, color="black", symbol="x-thin", line=dict(width=1.5))))
    if square is not None:
        fig.add_shape(type="rect", x0=-square, y0=-square, x1=square, y1=square,
                      line=dict(color="#555555", dash="dash", width=1))
    # A square plot (equal units on both axes) with the legend below it, so that it does not eat the width.
    fig.update_xaxes(range=[-lim, lim], title="z1", constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[-lim, lim], title="z2", scaleanchor="x", scaleratio=1, constrain="domain",
                     showgrid=False, zeroline=False)
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", itemsizing="constant", yanchor="top", y=-0.12, x=0))
    return fig


# -- model -----------------------------------------------------------------------------------------
common.page_header(
    "Prior & samples",
    "Draw codes z from a prior p(z), see where they fall next to the codes the encoder gives real digits "
    "(q(z)), and decode them into images.",
    notice=(
        "the codes of real digits, q(z), should cover the prior's density (blue) with no empty regions — the "
        "AAE's claim (Fig. 2, Fig. 4). With a mixture or swiss roll prior, each part holds one digit; "
        'decoding from a prior the model was not trained on shows what the decoder makes of codes it never '
        'saw.'
    ),
)
entry, model = common.picked_model(kinds=common.PLAIN_KINDS)
dim = model.latent_dim
own_config: PriorConfig = model.config.prior
label_regularized = bool(getattr(model.config, "label_regularized", False))

# -- which prior, how many samples ----------------------------------------------------------------
options = prior_options(own_config, dim)
URL = {"prior": ("prior_choice", common.one_of(options)), "n": ("n_samples", common.whole(10, 400)),
       "seed": ("samples_seed", common.whole(0, MAX_SEED)), "grid": ("manifold_n", common.whole(10, 30))}
common.url_state(URL)  # a shared link opens this view
OWN = options[0]
if st.session_state["prior_choice"] not in options:  # another model's own, or the swiss roll in 8-D
    st.session_state["prior_choice"] = OWN
left, middle, right, button = st.columns([3, 1.2, 1.2, 1.6], vertical_alignment="bottom")
choice = left.selectbox(
    "Prior to draw from", options, key="prior_choice",
    format_func=lambda k: (f"the model's own: {describe_prior(own_config, dim)}" if k == OWN
                           else describe_prior(ALTERNATIVES[k], dim)),
)
n = int(middle.number_input("Samples", min_value=10, max_value=400, step=10, key="n_samples"))
seed = int(right.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key="samples_seed"))
button.button("New samples", key="new_samples", on_click=new_samples, icon=":material/casino:")
common.write_url_state(URL)

config = own_config if choice == OWN else ALTERNATIVES[choice]
prior = model.prior if choice == OWN else make_prior(config, dim)
if choice != OWN:
    st.warning(
        f"This model was trained with the **{describe_prior(own_config, dim)}** prior. Decoding samples from "
        f"the {describe_prior(config, dim)} shows what the decoder does *off* its prior — codes it never saw "
        "in training — not samples of the model."
    )

# -- samples ----------------------------------------------------------------------------------------
labels = cycled_labels(n, prior.n_classes) if prior.supports_labels else None
try:
    with st.spinner("Sampling and decoding…"):
        z = prior.sample(n, labels=labels, generator=torch.Generator().manual_seed(seed))
        images = decode_all(model, z)
except ValueError as error:
    st.error(str(error))
    st.stop()
nrow = 10 if n <= 100 else 20  # a multiple of 10, so that with cycled labels each column is one class
grid = common.grid_image(images, nrow=nrow, scale=3 if n <= 100 else 2)
st.session_state["samples_grid"] = grid
st.session_state["prior_points"] = z[:, :2].numpy()

codes = code_labels = code_indices = None
if model.has_encoder:
    common.enable_hover()  # a test digit's image when the pointer is over its code
    all_codes = common.codes_for(entry)  # says itself when the data is missing
    data = common.test_set() if all_codes is not None else None
    if all_codes is not None and data is not None and len(all_codes):
        pick = np.random.default_rng(0).permutation(len(all_codes))[:Q_Z_POINTS]
        codes, code_labels, code_indices = all_codes[pick, :2], data[1].numpy()[pick], pick
square = 0.85 * prior.extent() if dim == 2 else None

plot_column, grid_column = st.columns([5, 4], gap="medium")
# The grid first: "New samples" changes it, and the browser shows it before it has redrawn the map beside it
# (the map's thousands of points take most of a rerun in the browser). A click on the map is read from the
# chart's state, which holds the selection before the chart is drawn again.
st.session_state["prior_clicked"] = clicked_point(st.session_state.get("prior_scatter"))
with grid_column:
    clicked = st.session_state["prior_clicked"]
    if clicked is not None and dim == 2:
        point = torch.tensor([clicked], dtype=torch.float32)
        decoded = common.digit_image(model.decode(point)[0], scale=6)
        st.session_state["prior_clicked_image"] = decoded
        st.image(decoded, caption=f"decoded at the clicked point z = ({clicked[0]:.2f}, {clicked[1]:.2f})", width=168)
    st.subheader("Decoded samples")
    st.image(grid, width="stretch")
    if labels is not None:
        if choice == OWN and label_regularized:
            st.caption("Labels cycle 0–9 along each row, so each column is one class: this model was trained "
                       "with component k of its prior tied to digit k, so column k should show the digit k.")
        else:
            st.caption("Labels cycle 0–9 along each row, so column k holds samples of the prior's k-th part. "
                       "This model was not trained with labels on this prior, so the parts need not match "
                       "digit classes.")
    st.download_button(
        "Download the grid (PNG)", data=partial(to_png, grid.astype(np.float32) / 255),  # made on a click
        file_name=f"{entry.name}-{config.name}-seed{seed}.png", mime="image/png", key="download_samples",
        on_click="ignore", icon=":material/download:",
    )

with plot_column:
    st.subheader("Codes")
    try:
        fig = scatter_figure(prior, config, z[:, :2].numpy(), codes, code_labels, code_indices, square)
    except ValueError as error:
        st.error(str(error))
    else:
        st.plotly_chart(fig, key="prior_scatter", on_select="rerun", selection_mode="points")
    notes = [f"Black crosses: the {n} prior samples decoded on the right; blue shading: the prior's density."]
    if dim == 2:
        notes.append("Click any point to decode it.")
    if codes is not None:
        notes.append(f"Coloured dots: {len(codes):,} test digits encoded by the model (q(z)), coloured by class.")
    elif not model.has_encoder:
        notes.append("A GAN has no encoder, so there is no q(z) to draw.")
    if dim > 2:
        notes.append(f"The latent space is {dim}-D: the plot shows its first two dimensions only.")
    if square is not None:
        notes.append("The dashed square is the plane the manifold below covers.")
    st.caption(" ".join(notes))


# -- the manifold (2-D latent spaces) ---------------------------------------------------------------
if dim != 2:
    st.session_state["manifold_grid"] = None
    st.caption(f"The manifold grid (decoding a regular grid over the latent plane) needs a 2-D latent space; "
               f"this model's is {dim}-D.")
else:
    st.subheader("The manifold")
    image_column, control_column = st.columns([3, 2], gap="medium")
    n_grid = control_column.slider("Grid size (n × n)", min_value=10, max_value=30, **common.kept("manifold_n"))
    extent = 0.85 * prior.extent()
    try:
        with st.spinner("Decoding the plane…"):
            plane = common.grid_image(manifold(model, n=n_grid, extent=extent), nrow=n_grid, scale=2)
    except ValueError as error:
        st.session_state["manifold_grid"] = None
        st.error(str(error))
    else:
        st.session_state["manifold_grid"] = plane
        image_column.image(plane, width="stretch")
        control_column.caption(
            f"Decoded codes on a regular {n_grid} × {n_grid} grid over [−{extent:.2f}, {extent:.2f}]² (85% of "
            f"the {describe_prior(config, dim)}'s extent): z1 grows to the right, z2 upwards — the paper's "
            "manifold figure."
        )
        control_column.download_button(
            "Download the manifold (PNG)", data=partial(to_png, plane.astype(np.float32) / 255),
            file_name=f"{entry.name}-manifold-{n_grid}.png", mime="image/png", key="download_manifold",
            on_click="ignore", icon=":material/download:",
        )
