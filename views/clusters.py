"""Clusters: what the categorical y of a clustering (or semi-supervised) AAE has found, one row per cluster.

Each row: the digit the cluster is named after and how pure it is on the test set, samples the decoder
writes for that cluster (the same styles in every row), and the test digits the encoder is surest belong
to it. Above: the test error and the clusters × digits table.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from aae.app.explore import most_confident
from aae.core import catalog
from aae.core.metrics.evaluate import ClusterReport, cluster_report
from aae.lab.paper import paper_error
from aae.lab.report import beside_the_paper_text
from ui import common

N_STYLES = 8  # samples per row
PAPER, MAJORITY = "the paper's way", "majority"

st.session_state.setdefault("cluster_naming", PAPER)
st.session_state.setdefault("cluster_seed", 0)
# What the page shows (for tests and readers): the test error shown, and one dict per row.
st.session_state["cluster_error_shown"] = None
st.session_state["cluster_rows"] = None


@common.releasable
@st.cache_resource(show_spinner="Assigning the test set to clusters…", max_entries=8)
def report_for(path: str, mtime: float) -> ClusterReport:
    """The test set's clusters; named as `aae eval` named them for the card when it did (it read the validation
    and training images for that), else named here."""
    checkpoint = common.load(path)
    named = [checkpoint.card.get("metrics", {}).get(key) for key in ("cluster_digits", "cluster_digits_majority")]
    return cluster_report(checkpoint.model, common.splits(),
                          names=tuple(named) if all(isinstance(n, list) for n in named) else None)


common.page_header(
    "Clusters",
    "The encoder of a clustering or semi-supervised AAE picks one of K categories for every image (with no "
    "labels, or a few), while a second code z keeps the style. Each row is one category: what the decoder "
    "writes for it, and the test digits it holds.",
    notice=(
        "the paper's Table 3 (16 clusters: 9.55 % test error) and Table 2 for the semi-supervised model (100 "
        'labels: 1.90 %). A cluster is pure when its row shows one digit in both grids; clusters that split '
        'one digit by style (two kinds of 1, 4 or 7) are what the paper reports too.'
    ),
)
entry, model = common.picked_model(kinds=catalog.kinds(categorical=True), encoder_required=True)
if common.splits() is None:
    st.stop()
report = report_for(entry.path, common.card_mtime(entry.path))
k = model.n_content
caps = catalog.entry(entry.kind).capabilities

digits, error = report.digits, report.error
if not caps["uses_labels"]:  # clusters learnt without labels
    st.caption(f"**{entry.name}**: {k} clusters learnt without labels. To measure them, each cluster is named "
               "after a digit: *the paper's way* takes the label of the validation image the cluster is most "
               "sure of; *majority* takes the most common label of the training images it holds.")
    naming = st.radio("Name the clusters", [PAPER, MAJORITY], key="cluster_naming", horizontal=True)
    if naming == MAJORITY:
        digits, error = report.digits_majority, report.error_majority
else:
    labels = entry.card.get("config", {}).get("labels_per_class")
    told = "every label" if labels is None else f"{labels * 10} labels"
    what = "a semi-supervised AAE" if caps["conditional"] else "a semi-supervised 2-D map"
    st.caption(f"**{entry.name}**: {what}, trained with {told}: its 10 categories are the digits themselves.")
st.session_state["cluster_error_shown"] = error

sizes = report.confusion.sum(dim=1)
purity = report.purity(digits)
paper = paper_error(entry.kind, entry.card.get("config", {}))
cols = st.columns(4)
cols[0].metric("Test error ↓", f"{error:.2%}", help="Share of the 10,000 test digits whose category is named "
               "after another digit than their label. Lower is better."
               + (f" The paper: {paper}, after thousands of epochs." if paper else ""))
compared = beside_the_paper_text(entry.card, shipped=entry.shipped)
if compared:
    st.caption(compared)
elif paper:
    st.caption(f"The paper reports **{paper}**; this model's own figure is the test error above "
               f"(trained {entry.card.get('training', {}).get('epochs', '?')} epochs on "
               f"{entry.card.get('dataset', {}).get('train_images', '?'):,} images).")
cols[1].metric("Categories", k)
cols[2].metric("Empty on the test set", int((sizes == 0).sum()))
cols[3].metric("Digits named by no cluster", len(set(range(10)) - set(digits.tolist())),
               help="A digit no cluster is named after is always counted wrong.")

if not caps["conditional"]:  # categories are heads on one 2-D map (the paper's figure 12): a digit at W·y + z
    codes = common.codes_for(entry)
    heads = model.cluster_heads.weight.detach().cpu().numpy()
    st.session_state["cluster_map_points"] = len(codes)
    figure = go.Figure()
    common.enable_hover()  # a test digit's image when the pointer is over its code
    common.add_digit_traces(figure, codes[:, :2], common.test_set()[1].numpy())
    figure.add_trace(go.Scatter(x=heads[:, 0], y=heads[:, 1], mode="markers+text", name="heads",
                                text=[str(d) for d in range(len(heads))], textposition="top center",
                                marker={"symbol": "x", "size": 12, "color": "black"}))
    figure.update_layout(height=520, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         legend={"title": {"text": "digit"}, "itemsizing": "constant"},
                         yaxis={"scaleanchor": "x"})
    st.plotly_chart(figure, key="cluster_map")
    st.caption("The 10,000 test digits on the learnt 2-D map, coloured by their label; black crosses: the "
               "cluster heads W (one per digit). A digit lands at its inferred class's head plus its style.")

order = sorted(range(k), key=lambda c: (int(digits[c]), -int(sizes[c])))
with st.expander("Clusters × digits on the test set", expanded=False):
    counts = report.confusion[order].numpy()
    names = [f"{c} → {int(digits[c])}" for c in order]
    figure = go.Figure(go.Heatmap(z=counts, x=[str(d) for d in range(10)], y=names, colorscale="Blues",
                                  hovertemplate="cluster %{y} · digit %{x}: %{z} images<extra></extra>"))
    figure.update_layout(height=max(300, 22 * k + 80), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis={"title": "true digit", "tickmode": "array", "tickvals": [str(d) for d in range(10)]},
                         yaxis={"autorange": "reversed", "title": "cluster → named", "tickmode": "array",
                                "tickvals": names})
    st.plotly_chart(figure, key="cluster_confusion")

seed = st.number_input("Seed of the styles", 0, catalog.SEED_MAX, key="cluster_seed",
                       help="The same styles are written in every row; a new seed draws others.")
styles = model.sample_styles(N_STYLES, generator=torch.Generator().manual_seed(int(seed))).cpu()
generated = model.style_grid(styles, rows="content").cpu()  # (K·S, 1, 28, 28), row c = category c
test_x = common.splits().test_x
head = st.columns([1.3, 4, 4])
head[1].markdown("**Written by the decoder** (same styles in every row)")
head[2].markdown("**Test digits it is surest of**")
rows = []
for c in order:
    members = most_confident(report.probs, c, N_STYLES)
    row = {"cluster": c, "digit": int(digits[c]), "size": int(sizes[c]),
           "purity": None if np.isnan(float(purity[c])) else float(purity[c]), "members": members.tolist()}
    rows.append(row)
    left, middle, right = st.columns([1.3, 4, 4], vertical_alignment="center")
    share = "—" if row["purity"] is None else f"{row['purity']:.0%} {row['digit']}s"
    left.markdown(f"**{c} → {row['digit']}**  \n{row['size']} test digits · {share}")
    middle.image(common.grid_image(generated[c * N_STYLES:(c + 1) * N_STYLES], nrow=N_STYLES, scale=2),
                 width="stretch")
    if len(members):
        right.image(common.grid_image(test_x[members], nrow=N_STYLES, scale=2), width="stretch")
    else:
        right.caption("no test digit lands here")
st.session_state["cluster_rows"] = rows
