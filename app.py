"""Latent Lab: the entry point. Navigation over the pages in views/, and the home page (AAEs, device, data, models)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit import runtime

from aae.core import catalog
from aae.core.data import is_available
from aae.core.metrics.evaluate import METRICS, metric_label
from aae.lab.paper import seed_figures
from aae.lab.report import SMOOTHNESS_NOTE, headline, smoothness
from ui import common, estimates, preload

# The pages in the order users meet them: (file in views/, title, icon, URL path). The URL paths are those of
# links people have already shared (/prior_samples?model=…), so a page keeps its path when its file moves.
PAGES = {
    "Explore": [
        ("views/prior_samples.py", "Prior & samples", ":material/scatter_plot:", "prior_samples"),
        ("views/traversal.py", "Latent traversal", ":material/tune:", "traversal"),
        ("views/encode.py", "Encode a digit", ":material/draw:", "encode"),
    ],
    "Compare": [
        ("views/aae_vs_vae.py", "AAE vs VAE", ":material/compare:", "aae_vs_vae"),
        ("views/gan_vs_aae.py", "GAN vs AAE", ":material/sports_kabaddi:", "gan_vs_aae"),
    ],
    "The paper's other AAEs": [
        ("views/style_content.py", "Style & content", ":material/style:", "style_content"),
        ("views/clusters.py", "Clusters", ":material/workspaces:", "clusters"),
        ("views/denoise.py", "Denoise", ":material/blur_off:", "denoise"),
    ],
    "Beyond the paper": [
        ("views/style_space.py", "Style space", ":material/gradient:", "style_space"),
        ("views/translate.py", "Translate", ":material/swap_horiz:", "translate"),
    ],
    "Build": [
        ("views/train.py", "Train", ":material/model_training:", "train"),
        ("views/draw_prior.py", "Draw a prior", ":material/brush:", "draw_prior"),
    ],
}

# What a Home card shows, in this order: a variant's own figure first, then the generative ones.
CARD_METRICS = ("test_error", "cluster_error", "denoise_mse", "parzen_ll", "frechet", "modes_covered",
                "knn_accuracy", "recon_bce", "test_accuracy")
HEADLINE_METRICS = ("test_error", "cluster_error", "denoise_mse")


def home() -> None:
    st.title("Latent Lab")
    st.markdown(
        "An **adversarial autoencoder** (Makhzani et al., 2016) is an autoencoder whose codes are pushed, by a "
        "discriminator, to look like samples of a prior you choose — a Gaussian, a mixture with one part per "
        "digit, a swiss roll, or a shape you draw yourself (*Draw a prior*). A **VAE** does the same with a KL "
        "term, which only works for simple priors; a "
        "**GAN** puts its adversary on the images instead and has no encoder. Here you can train all three, "
        "draw from their priors, walk their latent spaces, encode your own digits and measure what you see — "
        "and try the paper's other AAEs: style and content, semi-supervised, clustering, denoising."
    )
    left, right = st.columns(2)
    left.markdown(f"**Device:** {common.device_description()}")
    root = common.data_dir()
    if is_available("mnist", root):
        right.markdown(f"**Data:** MNIST found in `{root}`")
    else:
        with right:
            st.warning(common.data_missing_message(root))
            common.download_button(root)

    entries = common.list_models(kinds=tuple(catalog.CATALOG))
    figures = seed_figures()
    rows = headline({entry.name: entry.card for entry in entries if entry.shipped}, figures)
    if rows:
        st.subheader("The paper's figures and ours")
        train_images = figures.get("dataset", {}).get("train_images", 50_000)
        st.caption(f"MNIST: {train_images:,} training and 10,000 validation images drawn from the official "
                   "training set; every figure measured by `aae eval` of a finished model on the official 10,000 "
                   "test images. Ours is the mean ± std over the recipe's seeds, beside the paper's; the shipped "
                   "model is one of those seeds, chosen on the validation images. The last column names what "
                   "each recipe adds to the paper's (↑ higher is better, ↓ lower). The paper trained for "
                   "thousands of epochs, ours for tens.")
        st.table(rows, hide_index=True)  # every column's text in full, wrapped (a data grid cut them to its width)
    smooth = smoothness({entry.name: entry.card for entry in entries if entry.shipped}, figures)
    if smooth:
        st.subheader("How smooth is each latent space")
        st.caption(SMOOTHNESS_NOTE)
        st.table(smooth, hide_index=True)

    st.subheader("Models")
    if not entries:
        st.info("No models yet: train one on the **Train** page, or run `bash scripts/train_shipped.sh`.")
    columns = st.columns(3)
    for i, entry in enumerate(entries):
        with columns[i % 3].container(border=True):
            model_card(entry)

    st.subheader("Pages")
    for section, pages in PAGES.items():
        st.markdown(f"**{section}**")
        for path, title, icon, _ in pages:
            st.page_link(path, label=title, icon=icon)


CURVE_KEYS = {"val_knn": "kNN accuracy of codes", "val_class_err": "validation error of y",
              "val_cluster_err": "validation cluster error (majority)"}


def learning_curve(history: list[dict]) -> dict[str, list] | None:
    """{"epoch": [...], label: [...]} from a card's history, for the curves the trainer recorded; None if none."""
    keys = [k for k in CURVE_KEYS if history and all(k in row for row in history)]
    if not keys:
        return None
    return {"epoch": [row["epoch"] for row in history], **{CURVE_KEYS[k]: [row[k] for row in history] for k in keys}}


def curve_spec(curve: dict[str, list]) -> dict:
    """A Vega-Lite line chart of `curve` (from `learning_curve`), written out: st.line_chart builds the same through
    Altair, which took 3.5 of the 9 s of the Home page's first run for its 17 cards (py-spy)."""
    rows = [{"epoch": epoch, "series": label, "value": value}
            for label, values in curve.items() if label != "epoch"
            for epoch, value in zip(curve["epoch"], values)]
    values = [row["value"] for row in rows]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 0.01
    # Explicit domains: a chart drawn in a closed expander has no size yet, and Vega computing its scales from the
    # data there warned "Infinite extent" for each of them.
    return {"data": {"values": rows}, "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "epoch", "type": "quantitative",
                               "scale": {"domain": [min(curve["epoch"]), max(curve["epoch"])]}},
                         "y": {"field": "value", "type": "quantitative", "title": None,
                               "scale": {"domain": [low - pad, high + pad]}},
                         "color": {"field": "series", "type": "nominal", "title": None}}}


def model_card(entry: common.ModelEntry) -> None:
    card = entry.card
    config = card.get("config", {})
    training = card.get("training", {})
    dataset = card.get("dataset", {})
    st.markdown(f"**{entry.name}** · {'shipped' if entry.shipped else 'yours'}")
    kind = catalog.entry(entry.kind)
    details = catalog.describe_config(entry.kind, config, latent_dim=entry.latent_dim, prior=entry.prior)
    dataset_name = dataset.get("name", "mnist")
    st.caption(f"{kind.label}: {kind.summary}" + "".join(f" · {d}" for d in details)
               + (f" · **{dataset_name}**" if dataset_name != "mnist" else ""))
    epochs = training.get("epochs", "?")
    trained = (f"{epochs} epoch{'' if epochs == 1 else 's'} on {dataset.get('train_images', '?')} "
               f"{dataset.get('name', '')}")
    st.caption(f"trained {trained} images" + (f" · {training['seconds']:.0f} s on {training.get('device')}"
                                                if training.get("seconds") else ""))
    curve = learning_curve(training.get("history", []))
    if curve and len(curve["epoch"]) > 1:  # one epoch is a point, not a curve
        with st.expander("Learning curve"):
            st.vega_lite_chart(curve_spec(curve), height=160)
            st.caption("Each epoch's figure on 2,000 validation images (↑ kNN accuracy of the codes, "
                       "↓ validation error of y).")
    metrics = card.get("metrics", {})
    shown = [(k, metrics[k]) for k in CARD_METRICS if isinstance(metrics.get(k), (int, float))]
    shown = shown[:2] if shown and shown[0][0] in HEADLINE_METRICS else shown[:3]  # room for "42.7%"
    if shown:
        # Side by side as wide as each needs, wrapping to a new line rather than cutting a label or a value short
        # (equal columns in a narrow card cut "Parzen log-likelihood" and "10/10").
        row = st.container(horizontal=True, gap="medium")
        for key, value in shown:
            col = row
            text = f"{value:.1%}" if key.endswith("error") else f"{value:.3g}" if isinstance(value, float) else value
            if key == "modes_covered":
                text = f"{value}/10"
            metric = METRICS[key]
            col.metric(metric_label(key), text, help=f"{metric.label.strip()}: {metric.direction}. {metric.help}",
                       width="content")


# The tab icon is a file of the app: a Material icon name there is fetched from a font host, which fails offline.
FAVICON = Path(__file__).with_name("static") / "favicon.png"
st.set_page_config(page_title="Latent Lab", page_icon=str(FAVICON), layout="wide")
common.warm_up_projections()  # UMAP's JIT compile in the background, before anyone asks for a UMAP
common.release_when_idle()  # the shared caches go when no browser has been connected for a minute


preload.import_shared_modules()  # done as the server started, under `streamlit run serve.py`
navigation = st.navigation(
    {"Latent Lab": [st.Page(home, title="Home", icon=":material/home:", default=True)]}
    | {section: [st.Page(path, title=title, icon=icon, url_path=url) for path, title, icon, url in pages]
       for section, pages in PAGES.items()},
    expanded=True,  # every page in the sidebar, not the first ten and a "View more"
)
navigation.run()
if runtime.exists():  # not where app.py runs as a plain script (a spawned process's main file): nobody visits there
    common.preload("mnist")  # once the page is drawn: the digits the next page shows, read in the background
    estimates.warm()  # once the page is drawn: the process that measures this machine's speed for time estimates
