"""The paper's figures (Makhzani et al., ICLR 2016) beside the shipped models' own, for the Home page and README.

Each row names the shipped checkpoint and the metric (a key of `aae eval`'s output, stored in the card by
`aae eval --write`) that answers the paper's number. The shipped models' figures are read from their cards,
never restated here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PaperFigure:
    what: str  # for people
    where: str  # the paper's table or figure
    paper: str  # the paper's figure, as printed there
    checkpoint: str  # the shipped model that answers it
    metric: str  # its metric key in card["metrics"] (aae.core.metrics.evaluate.METRICS says which way is better)
    percent: bool = False  # shown as a percentage


PAPER_FIGURES: tuple[PaperFigure, ...] = (
    PaperFigure("2-D AAE, N(0, I) prior: kNN accuracy of test codes", "Fig. 2", "classes separated (no number)",
                "aae-2d-gaussian", "knn_accuracy"),
    PaperFigure("2-D VAE of the same size: kNN accuracy of test codes", "Fig. 2", "gaps between classes",
                "vae-2d", "knn_accuracy"),
    PaperFigure("8-D AAE (inputs with noise σ 0.5): Parzen log-likelihood of the test set (nats)", "Table 1",
                "340 ± 2", "aae-8d", "parzen_ll"),
    PaperFigure("8-D AAE without input noise: Parzen log-likelihood (nats)", "Table 1", "340 ± 2", "aae-8d-plain",
                "parzen_ll"),
    PaperFigure("8-D VAE of the same size: Parzen log-likelihood (nats)", "Table 1", "(no VAE row)", "vae-8d",
                "parzen_ll"),
    PaperFigure("GAN: Parzen log-likelihood (nats)", "Table 1", "225 ± 2", "gan", "parzen_ll"),
    PaperFigure("Semi-supervised AAE, 100 labels: test error", "Table 2", "1.90 ± 0.10 %", "semi-100",
                "test_error", percent=True),
    PaperFigure("Semi-supervised AAE, 1000 labels: test error", "Table 2", "1.60 ± 0.08 %", "semi-1000",
                "test_error", percent=True),
    PaperFigure("Semi-supervised AAE, all labels: test error", "Table 2", "0.85 ± 0.02 %", "semi-all",
                "test_error", percent=True),
    PaperFigure("Clustering AAE, 16 clusters: test error", "Table 3", "9.55 ± 2.32 %", "cluster-16",
                "cluster_error", percent=True),
    PaperFigure("Clustering AAE, 30 clusters: test error", "Table 3", "4.10 ± 1.13 %", "cluster-30",
                "cluster_error", percent=True),
)

# Figures of each recipe over several seeds ({recipe: {metric: {seed: value}}}), measured by `aae eval` and
# collected by `scripts/summarise_seeds.py --write`; the shipped checkpoint is one of those runs.
SEED_FIGURES = Path(__file__).with_name("seed_figures.json")


def seed_figures(path: Path = SEED_FIGURES) -> dict[str, Any]:
    """The seed figures file's content ({} if there is none)."""
    return json.loads(path.read_text()) if path.exists() else {}


def write_seed_figures(recipe: str, measured: dict[str, dict[str, float]], how: dict[str, Any],
                       path: Path = SEED_FIGURES) -> Path:
    """Replace `recipe`'s figures ({metric: {seed: value}}) and how they were measured; keep the others'."""
    import datetime

    figures = seed_figures(path)
    figures.setdefault("recipes", {})[recipe] = measured
    figures.setdefault("measured_by", {})[recipe] = {**how, "date": datetime.date.today().isoformat()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(figures, indent=1) + "\n")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class PairArm:
    """One arm of a like-for-like comparison: a model with given inputs, read from a sweep's trials."""
    model: str  # "AAE" / "VAE", for people
    inputs: str  # what its encoder reads, for people
    sweep: str  # the sweep record's folder in docs/sweeps
    params: dict[str, Any]  # the swept values that make this arm (the trials' params less the seed)


# The 8-D AAE and the VAE of the same size, both with plain inputs and both with the same input noise, on the
# validation images at the same training budget (the sweeps' fixed settings).
EIGHT_D_PAIR = (
    PairArm("AAE", "plain", "aae-8d-plain", {}),
    PairArm("VAE", "plain", "vae-8d", {"corruption": "none"}),
    PairArm("AAE", "Gaussian noise σ 0.5", "aae-8d", {"corruption_level": 0.5}),
    PairArm("VAE", "Gaussian noise σ 0.5", "vae-8d", {"corruption": "gaussian"}),
)


# The paper's Figure 2: the 2-D AAE with a Gaussian prior and the VAE of the same size (recipes), over their seeds.
TWO_D_PAIR = ("aae-2d-gaussian", "vae-2d")


# The style-based and translating models' targets (the StyleGAN and CycleGAN papers' claims, measured here): the
# shipped MNIST StyleGAN against the shipped dense GAN, and the shipped MNIST ↔ 8×8 digits CycleGAN.
STYLEGAN, DENSE_GAN, CYCLEGAN = "stylegan-mnist", "gan", "cyclegan-mnist-digits8"
STYLEGAN_CONFIDENCE = 0.8  # the classifier's least mean confidence on the StyleGAN's samples
CLASS_KEPT = 0.9  # the least share of MNIST test digits whose class the translation into 8×8 style keeps


# Table 2 (semi-supervised, MNIST) by labels per class (None: all labels); Table 3 (clustering) by clusters.
SEMI_SUPERVISED_ERROR = {10: "1.90 ± 0.10 %", 100: "1.60 ± 0.08 %", None: "0.85 ± 0.02 %"}
CLUSTERING_ERROR = {16: "9.55 ± 2.32 %", 30: "4.10 ± 1.13 %"}


def paper_error(kind: str, config: dict[str, Any]) -> str | None:
    """The paper's test error for a semi-supervised or clustering AAE of this config, with its table; or None."""
    if kind == "semi":
        labels = config.get("labels_per_class")
        if labels in SEMI_SUPERVISED_ERROR:
            return f"{SEMI_SUPERVISED_ERROR[labels]} (Table 2, {'all' if labels is None else labels * 10} labels)"
    if kind == "cluster":
        k = config.get("n_categories")
        if k in CLUSTERING_ERROR:
            return f"{CLUSTERING_ERROR[k]} (Table 3, {k} clusters)"
    return None
