"""AAE vs VAE: the test set's codes of two models side by side, coloured by digit, with numbers beside each
plot for how well the classes separate, how well the codes match the prior, and how well images come back.

Codes of more than two dimensions are projected to 2-D (PCA, t-SNE or UMAP), fitted separately per model:
the two models' codes live in different spaces. The numbers are computed in the original code space.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from aae.app.projections import DEFAULT_POINTS, project, shown_subset
from aae.core import catalog
from aae.core.checkpoints import CheckpointError
from aae.core.metrics.evaluate import (
    LATENT_METRICS,
    METRICS,
    eval_generator,
    latent_metrics,
    metric_label,
    recorded_latent_metrics,
)
from aae.core.priors import PriorConfig, describe_prior
from aae.lab.paper import seed_figures
from aae.lab.report import PAIR, pair_differences, pair_note, pair_rows, sweep_records, two_d_rows, two_d_summary
from ui import common

# --- session state ----------------------------------------------------------------------------------
st.session_state.setdefault("compare_projection", "PCA")
# What the page shows, for tests and readers: {model name: {metric: value}} and {model name: plotted (N, 2)}.
st.session_state["compare_metrics"] = {}
st.session_state["compare_points"] = {}

PROJECTIONS = {"PCA": "pca", "t-SNE": "tsne", "UMAP": "umap"}
URL = {"projection": ("compare_projection", common.one_of(PROJECTIONS))}
PREFERRED_PAIRS = [("aae-2d-gaussian", "vae-2d"), ("aae-8d", "vae-8d")]
SEED = common.MAP_SEED  # as `aae eval`'s default
FORMATS = {"knn_accuracy": "{:.3f}", "silhouette": "{:.3f}", "mmd": "{:.4f}", "recon_bce": "{:.1f}",
           "recon_mse": "{:.4f}"}


def prior_description(entry: common.ModelEntry) -> str:
    prior = entry.card.get("config", {}).get("prior", {})
    return describe_prior(PriorConfig(**prior), entry.latent_dim) if prior else "?"


def default_pair(entries: list[common.ModelEntry]) -> tuple[common.ModelEntry | None, common.ModelEntry | None]:
    """Two models to compare: a preferred shipped pair, else two of different kinds (in catalogue order, so an AAE
    before a VAE) with the same latent size, and the same prior if possible."""
    by_name: dict[str, common.ModelEntry] = {}
    for entry in sorted(entries, key=lambda e: not e.shipped):  # shipped first: they win name clashes
        by_name.setdefault(entry.name, entry)
    for left_name, right_name in PREFERRED_PAIRS:
        if left_name in by_name and right_name in by_name:
            return by_name[left_name], by_name[right_name]
    order = list(catalog.kinds())
    ranked = sorted(entries, key=lambda e: order.index(e.kind) if e.kind in order else len(order))
    for same_prior in (True, False):
        for i, a in enumerate(ranked):
            for b in ranked[i + 1:]:
                if (a.kind != b.kind and a.latent_dim == b.latent_dim
                        and (not same_prior or prior_description(a) == prior_description(b))):
                    return a, b
    return (ranked or [None])[0], (ranked or [None])[-1]


@st.cache_data(show_spinner=False, max_entries=32)
def model_metrics(path: str, mtime: float, dataset: str) -> dict[str, float]:
    """The numbers beside a model's plot: exactly what `aae eval` prints for it (the same function, data and
    random stream), so the page, the Home cards and the command line agree."""
    checkpoint, splits = common.load(path), common.splits(dataset)
    recorded = recorded_latent_metrics(checkpoint.card, dataset, test_images=len(splits.test_y), seed=SEED)
    if recorded is not None:  # aae eval wrote exactly these numbers into the card
        return recorded
    return latent_metrics(checkpoint.model, splits, generator=eval_generator(checkpoint.model, seed=SEED))


def scatter(points: np.ndarray, labels: np.ndarray, indices: np.ndarray, axis_names: tuple[str, str],
            ranges: tuple[list[float], list[float]]) -> go.Figure:
    figure = go.Figure()
    common.add_digit_traces(figure, points, labels, indices=indices)
    figure.update_layout(
        height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"title": {"text": "digit"}, "itemsizing": "constant"},
        xaxis={"title": axis_names[0], "range": ranges[0]}, yaxis={"title": axis_names[1], "range": ranges[1]},
    )
    return figure


# --- header and the two models ------------------------------------------------------------------------
common.page_header(
    "AAE vs VAE",
    "The same 10,000 test digits encoded by an adversarial autoencoder and a variational autoencoder. Both "
    "push their codes towards a prior; the AAE with a discriminator, the VAE with a KL term per image.",
)
notice = st.empty()  # what to notice: written once the two models' numbers are known
MAP_NOTICE = ("the paper's Fig. 2. The AAE's test codes should fill the prior with the digits in separate regions "
              "and no gaps; the VAE's tend to crowd the centre and leave gaps between classes.")
PROJECTED_NOTICE = ("the paper's Fig. 2 shows 2-D codes; codes with more dimensions are drawn through a projection, "
                    "so their maps show less than the numbers.")


def numbers_sentence(names: tuple[str, str], figures: tuple[dict[str, float], dict[str, float]]) -> str:
    """Which model the shown numbers favour, metric by metric: "vae-8d is ahead on kNN acc. ↑ and MMD² ↓; …"."""
    ahead: dict[int, list[str]] = {0: [], 1: []}
    for key in LATENT_METRICS:
        side = METRICS[key].better_of(figures[0][key], figures[1][key])
        if side is not None:
            ahead[side].append(metric_label(key))
    parts = [f"**{names[side]}** is ahead on {', '.join(keys[:-1]) + ' and ' if len(keys) > 1 else ''}{keys[-1]}"
             for side, keys in ahead.items() if keys]
    return ("On the numbers under the plots (as `aae eval` prints them): " + "; ".join(parts) + "."
            if parts else "The numbers under the plots are equal.")

ENCODER_KINDS = catalog.kinds(encoder=True, conditional=False, categorical=False)  # codes of images, plain priors
entries = common.list_models(kinds=ENCODER_KINDS)
default_left, default_right = default_pair(entries)
if default_left is not None:
    st.session_state.setdefault("compare_aae_path", default_left.path)
    st.session_state.setdefault("compare_vae_path", default_right.path)
left_pick, right_pick = st.columns(2)
left = common.model_picker(kinds=ENCODER_KINDS, key="compare_aae_path", label="Left model",
                           where=left_pick, encoder_required=True)
right = common.model_picker(kinds=ENCODER_KINDS, key="compare_vae_path", label="Right model",
                            where=right_pick, encoder_required=True)
if left is None or right is None:
    st.stop()
pair = [left, right]
common.url_state(URL)  # a shared link opens this view
try:
    for entry in pair:
        common.load(entry.path)
except CheckpointError as error:
    st.error(f"A model cannot be loaded: {error}")
    st.stop()

if left.path == right.path:
    st.info("Both sides show the same model; pick another on one side to compare.")
if left.latent_dim != right.latent_dim:
    st.warning(f"The models' latent sizes differ ({left.latent_dim}-D vs {right.latent_dim}-D): the maps and the "
               "numbers are not like for like. Pick models of the same size for a fair comparison.")
if prior_description(left) != prior_description(right):
    st.warning(f"The priors differ ({prior_description(left)} vs {prior_description(right)}): each MMD is "
               "measured against the model's own prior, so those two numbers do not compare directly.")

data = common.test_set()
if data is None:
    st.info(f"This page compares codes of the {common.dataset_name()} test set, so it needs the data (see above).")
    st.stop()
labels_all = data[1].numpy()
for dataset in dict.fromkeys(entry.dataset for entry in pair):
    common.enable_hover(dataset)  # a test digit's image when the pointer is over its code
codes = {}
for entry in pair:
    codes[entry.path] = common.codes_for(entry)

# --- how the codes are drawn ----------------------------------------------------------------------------
needs_projection = any(entry.latent_dim > 2 for entry in pair)
n_total = len(labels_all)
method = "pca"
if needs_projection:
    choose, size = st.columns([1, 1])
    method_label = choose.selectbox(
        "Projection of codes with more than 2 dimensions", list(PROJECTIONS),
        **common.kept("compare_projection", list(PROJECTIONS)),
        help="PCA: the plane the codes vary most in (linear, exact, instant). t-SNE and UMAP: non-linear maps "
             "that keep neighbours together (cluster shapes and gaps between clusters are not to scale). Each is "
             "fitted to each model's codes separately.",
    )
    method = PROJECTIONS[method_label]
    common.write_url_state(URL)
    n_points = int(size.number_input(
        "Test digits to show (a random subset)", min_value=100, max_value=n_total, step=500,
        value=min(DEFAULT_POINTS[method], n_total), key=f"compare_n_{method}",
        help="t-SNE and UMAP cost seconds per thousand points (UMAP's first run also compiles for ~20 s); "
             "PCA is instant on all 10,000. The same digits are shown for both models.",
    ))
else:
    n_points = n_total
# The same seeded subset on both sides, so the two plots show the same digits.
subset = shown_subset(n_total, n_points, SEED)
labels = labels_all[subset]

points, axis_names, shown = {}, {}, {}
for entry in pair:
    if entry.path in points:
        continue
    sub = codes[entry.path][subset]
    if entry.latent_dim == 2:
        points[entry.path], axis_names[entry.path] = sub, ("z1", "z2")
        shown[entry.path] = "the raw 2-D codes"
        continue
    if entry.latent_dim < 2:
        points[entry.path], axis_names[entry.path] = project(sub, "pca"), ("z1", "(none)")
        shown[entry.path] = "the 1-D codes on a line"
        continue
    name = method_label
    with st.spinner(f"Computing the {name} of {len(sub):,} codes of {entry.name} (once: it is kept for next "
                    "time)…"):
        try:
            points[entry.path] = common.projected_codes(entry.path, common.card_mtime(entry.path), entry.dataset,
                                                        method, n_points, SEED)[1]
        except ValueError as error:
            st.error(f"Cannot project {entry.name}'s codes: {error}")
            st.stop()
    axis_names[entry.path] = (f"{name} 1", f"{name} 2")
    shown[entry.path] = f"the {name} of the {entry.latent_dim}-D codes"
what = (f"{shown[left.path]} of both models" if shown[left.path] == shown[right.path]
        else f"{shown[left.path]} (left) and {shown[right.path]} (right)")
st.caption(f"Shown: {what}, {n_points:,} of {n_total:,} test digits. Hover a point for its digit, its test index "
           "and its image."
           + (" Projections are fitted to each model separately." if needs_projection else ""))

def axis_ranges(*clouds: np.ndarray) -> tuple[list[float], list[float]]:
    stacked = np.concatenate(clouds)
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * (high - low) + 1e-6
    return [float(low[0] - pad[0]), float(high[0] + pad[0])], [float(low[1] - pad[1]), float(high[1] + pad[1])]


# Raw 2-D codes on both sides share their axes (same units: spreads compare at a glance). Projections are fitted
# to each model separately, so their units differ: each gets its own axes, never squashed onto the other's.
shared_axes = all(entry.latent_dim == 2 for entry in pair)
ranges = {entry.path: axis_ranges(*(points[e.path] for e in pair)) if shared_axes else axis_ranges(points[entry.path])
          for entry in pair}
st.session_state["compare_shared_axes"] = shared_axes

# --- side by side ------------------------------------------------------------------------------------------
# The plots first, then the numbers beside them: measuring a model takes seconds the first time.
number_columns = []
for side, (column, entry) in enumerate(zip(st.columns(2, gap="medium"), pair)):
    with column:
        title = f"**{entry.name}**: {entry.kind.upper()}, {entry.latent_dim}-D, prior {prior_description(entry)}"
        st.markdown(title)  # above the chart, not in it: plotly's toolbar would cover a long title
        event = st.plotly_chart(scatter(points[entry.path], labels, subset, axis_names[entry.path],
                                        ranges[entry.path]), key=f"compare_chart_{side}", on_select="rerun",
                                selection_mode="points")
        index = common.show_clicked_digit(event, common.load(entry.path).model, codes[entry.path],
                                          common.test_set()[0])
        st.session_state[f"compare_clicked_{side}"] = index
        # Two metrics a row under the plot: wide enough for the labels even in a narrow (centred) layout.
        number_columns.append(st.container())
st.caption("Class separation is measured in the original code space, not on the 2-D map (kNN accuracy on all "
           "10,000 codes, silhouette on 2,000). The small number under each value is its difference from the "
           "other model (green: better).")

# --- the numbers --------------------------------------------------------------------------------------
metrics: dict[str, dict[str, float]] = {}
for numbers, entry in zip(number_columns, pair):
    if entry.name not in metrics:
        with numbers, st.spinner(f"Measuring {entry.name}…"):
            metrics[entry.name] = model_metrics(entry.path, common.card_mtime(entry.path), entry.dataset)
st.session_state["compare_metrics"] = metrics
if left.name != right.name:
    base = PROJECTED_NOTICE if needs_projection else MAP_NOTICE
    notice.markdown(f":material/visibility: **What to notice:** {base} "
                    + numbers_sentence((left.name, right.name), (metrics[left.name], metrics[right.name])))
else:
    notice.markdown(f":material/visibility: **What to notice:** {MAP_NOTICE}")
st.session_state["compare_points"] = {entry.name: points[entry.path] for entry in pair}
for numbers, entry, other in zip(number_columns, pair, pair[::-1]):
    mine, theirs = metrics[entry.name], metrics[other.name]
    cells = [cell for _ in range(3) for cell in numbers.columns(2)]
    for cell, key in zip(cells, LATENT_METRICS):
        metric = METRICS[key]
        cell.metric(
            metric_label(key), FORMATS[key].format(mine[key]),
            delta=None if other.name == entry.name else f"{mine[key] - theirs[key]:+.3g}",
            delta_color="normal" if metric.better == "higher" else "inverse",
            help=f"{metric.label.strip()}: {metric.direction}. {metric.help} As `aae eval` measures it, on the "
                 "10,000 test images.",
        )

paths = [(entry.name, entry.card.get("metrics", {}).get("ppl")) for entry in pair]
if left.name != right.name and all(isinstance(ppl, int | float) for _, ppl in paths):
    st.caption("How smooth each decoder is over its prior, as `aae eval` wrote it into the card (perceptual path "
               "length in the project's classifier features, lower is smoother; one seed): "
               + "; ".join(f"**{name}** {ppl:.2f}" for name, ppl in paths) + ".")

# --- the paper's 2-D pair over its recipes' seeds (from the seed figures) --------------------------------
two_d = two_d_rows(seed_figures())
if two_d:
    with st.expander("The 2-D AAE and VAE over seeds: every figure, and which is ahead"):
        st.caption("The recipes of the paper's Figure 2 pair, each trained on several seeds with `aae seeds` and "
                   "measured by `aae eval` on the official 10,000 test images (mean ± std over the seeds). A model "
                   "is named ahead only by more than two standard errors of the difference.")
        st.table(two_d, hide_index=True)
        st.markdown(two_d_summary(two_d))

# --- the 8-D pair, like for like (from the sweep records) ----------------------------------------------
pair_table = pair_rows(sweep_records())
if any(row[PAIR[2]] != "not measured yet" for row in pair_table):
    with st.expander("The 8-D AAE and VAE, like for like: both plain, and both with the same input noise"):
        records = sweep_records()
        st.caption(pair_note(records))
        st.table(pair_table, hide_index=True)
        for line in pair_differences(records):
            st.markdown(f"- {line}.")
