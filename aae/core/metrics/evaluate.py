"""Every metric that applies to one model, in one call: what `aae eval` prints and checkpoint cards record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from aae.core.data import Splits, load_test_split
from aae.core.inference import category_probs_all, decode_all, encode_all, reconstruct_all
from aae.core.models import LatentModel
from aae.core.models.base import writes_digits


@dataclass(frozen=True)
class Metric:
    """How a metric is named and read: in `aae eval`'s table, on Home cards and on pages (one place)."""

    label: str  # in tables
    short: str  # on cards
    better: str  # "higher", "lower", or "" for a detail of another metric
    help: str = ""

    @property
    def arrow(self) -> str:
        """↑ or ↓ (nothing for details): which way is better."""
        return {"higher": "↑", "lower": "↓"}.get(self.better, "")

    @property
    def direction(self) -> str:
        return {"higher": "higher is better", "lower": "lower is better"}.get(self.better, "")

    def better_of(self, a: float, b: float) -> int | None:
        """0 when `a` is the better value, 1 when `b` is, None on a tie or for a detail of another metric."""
        if not self.better or a == b:
            return None
        return int((b > a) == (self.better == "higher"))


METRICS: dict[str, Metric] = {
    "parzen_ll": Metric("Parzen log-likelihood (nats)", "Parzen LL", "higher",
                        "log-likelihood of the test images under a Gaussian kernel density of the model's samples"),
    "parzen_se": Metric("  ± standard error", "± s.e.", ""),
    "parzen_sigma": Metric("  kernel σ (chosen on validation)", "σ", ""),
    "frechet": Metric("Fréchet distance (classifier features)", "Fréchet dist.", "lower",
                      "distance between samples and test images in the classifier's feature space"),
    "modes_covered": Metric("classes covered by samples (of 10)", "classes (of 10)", "higher",
                            "classes that get at least half their fair share of the samples"),
    "coverage_entropy": Metric("class entropy of samples (1 = even)", "class entropy", "higher"),
    "sample_confidence": Metric("classifier's confidence on samples", "confidence", "higher",
                                "the classifier's mean largest class probability on the samples: how clearly they "
                                "read as one digit"),
    "ppl": Metric("perceptual path length in z (classifier features)", "PPL (z)", "lower",
                  "how far the image moves, in the classifier's features, per small step between two prior codes"),
    "ppl_w": Metric("perceptual path length in w (classifier features)", "PPL (w)", "lower",
                    "the same along straight paths in the style space W; below the PPL in z where W is disentangled"),
    "mmd": Metric("MMD² codes vs prior (IMQ kernel)", "MMD² to prior", "lower",
                  "how far the test codes q(z) are from the prior p(z); 0 = indistinguishable"),
    "knn_accuracy": Metric("kNN accuracy of codes (k=5)", "kNN acc.", "higher",
                           "share of test codes whose 5 nearest codes mostly have their digit: classes separated"),
    "silhouette": Metric("silhouette of codes by class", "silhouette", "higher",
                         "from −1 to 1: how tight and apart the digits' clusters of codes are"),
    "recon_bce": Metric("reconstruction BCE (nats/image)", "recon. BCE", "lower"),
    "recon_mse": Metric("reconstruction MSE (per pixel)", "recon. MSE", "lower"),
    "test_accuracy": Metric("classifier test accuracy", "test accuracy", "higher"),
    "test_error": Metric("test error of y (semi-supervised)", "test error", "lower"),
    "cluster_error": Metric("clustering test error (paper's way)", "cluster error", "lower"),
    "cluster_error_majority": Metric("clustering test error (majority)", "cluster error (majority)", "lower"),
    "style_grid_accuracy": Metric("style grid read as its digits", "style grid read", "higher",
                                  "share of 50 prior styles × 10 digits (the Style & content grid) that the "
                                  "classifier reads as the digit asked for"),
    "denoise_mse": Metric("denoising MSE (per pixel)", "denoised MSE", "lower"),
    "noisy_mse": Metric("  MSE of the noisy input itself", "noisy MSE", ""),
    # CycleGAN (aae.core.metrics.translation): each way between domains A and B, read by the target's classifier
    **{f"{key}_{way}": Metric(f"{label}, {arrow}", short, better, help)
       for way, arrow in (("ab", "A→B"), ("ba", "B→A"))
       for key, label, short, better, help in (
           ("class_preservation", "class kept in translation", "class kept", "higher",
            "share of translated test images that the target domain's classifier reads as their own class"),
           ("class_preservation_matched", "class kept, best renaming of classes", "class kept (matched)", "higher",
            "as class kept, after the one-to-one renaming of classes that fits best: for unrelated classes"),
           ("translation_confidence", "target classifier's confidence on translations", "confidence", "higher",
            "mean largest class probability: how much the translations look like the target domain"),
           ("translation_frechet", "Fréchet distance to the target domain", "Fréchet dist.", "lower",
            "between translations and the target domain's test images, in its classifier's features"),
           ("cycle_error", "round-trip error (per pixel)", "cycle error", "lower",
            "mean absolute difference between test images and their translations translated back"),
           ("class_preservation_untranslated", "  the same classifier on untranslated images", "untranslated", "",
            "the naive baseline: the source images read as they are by the target domain's classifier"),
       )},
    "class_preservation_pixels_ab": Metric(
        "class kept, A→B, read by a pixel SVM", "class kept (SVM)", "higher",
        "as class kept, read by a support-vector machine on the 8×8 grid: a reader of another kind than the "
        "classifier a translation may be trained against"),
}


def metric_label(key: str, *, short: bool = True) -> str:
    """A metric's name with its direction: "kNN acc. ↑"."""
    metric = METRICS[key]
    return f"{metric.short if short else metric.label.strip()} {metric.arrow}".strip()


def with_test_split(splits: Splits) -> Splits:
    """`splits` with its dataset's test split: evaluation is the one reader of test images (aae.core.data's protocol),
    so it loads them here when the splits came without (load_dataset's default)."""
    if splits.has_test:
        return splits
    return splits.with_test(*load_test_split(splits.name, data_dir=splits.data_dir))


@torch.no_grad()
def evaluate(
    model: LatentModel,
    splits: Splits,
    *,
    classifier: LatentModel | None = None,
    n_samples: int = 10_000,
    seed: int = 0,
    parzen: bool = True,
    extras: bool = True,
    translation_split: str = "test",
) -> dict[str, Any]:
    """The metrics that apply to `model`, measured on `splits` (validation picks the Parzen σ; test is scored).

    Generative models: Parzen log-likelihood of the test set under `n_samples` samples (the GAN and AAE
    papers' protocol), and with a classifier the Fréchet distance of samples to the test set and their
    class coverage. Models with an encoder: codes of the test set against the prior (MMD) and by class
    (kNN accuracy, silhouette), and reconstruction error. The classifier: test accuracy. `extras=False` leaves
    out the path length and the latent metrics (a sweep's trials need the headline figures only). A translating
    model reads its domains' own splits (`translation_split`: "test", or "val" for a sweep's trials).
    """
    from aae.core.metrics import class_coverage, classifier_frechet_distance, parzen_evaluate
    from aae.core.metrics.ppl import perceptual_path_length

    model.eval()
    splits = with_test_split(splits)
    test_x, test_y = splits.test_x.cpu(), splits.test_y.cpu()
    results: dict[str, Any] = {
        "data": {"dataset": splits.name, "test_images": len(test_x), "validation_images": len(splits.val_x),
                 "samples": n_samples, "seed": seed},
    }
    if model.kind == "classifier":
        predicted = model.predict(test_x.to(model.device)).cpu()
        results["test_accuracy"] = float((predicted == test_y).float().mean())
        return results
    if model.translates:  # a CycleGAN: both domains' test images, translated each way
        from aae.core.metrics.translation import translation_metrics

        results.update(translation_metrics(model, classifier=classifier, split=translation_split,
                                           data_dir=getattr(splits, "data_dir", None)))
        return results

    generator = torch.Generator().manual_seed(seed)
    samples = decode_all(model, model.sample_latent(n_samples, generator=generator))  # (n, 1, 28, 28)
    if parzen:
        result = parzen_evaluate(samples.flatten(1), splits.val_x.cpu().flatten(1), test_x.flatten(1))
        results.update(parzen_ll=result.mean, parzen_se=result.stderr, parzen_sigma=result.sigma)
    if classifier is not None:
        classifier.eval()
        results["frechet"] = classifier_frechet_distance(classifier, samples, test_x)
        probs = classifier.predict_proba(samples.to(classifier.device)).cpu()
        coverage = class_coverage(probs.argmax(dim=1))
        results.update(modes_covered=coverage.modes_covered, coverage_entropy=coverage.normalized_entropy,
                       sample_confidence=float(probs.max(dim=1).values.mean()), class_shares=coverage.shares)
        if writes_digits(model):
            results["style_grid_accuracy"] = style_grid_accuracy(model, classifier, seed=seed)
        if extras:
            results["ppl"] = perceptual_path_length(model, classifier, space="z", seed=seed).mean
        if extras and model.has_style_space:
            results["ppl_w"] = perceptual_path_length(model, classifier, space="w", seed=seed).mean

    if model.categorical:  # semi-supervised, clustering and 2-D map AAEs
        results.update(categorical_errors(model, splits))
    if model.denoising:
        results.update(denoising_errors(model, test_x, seed=seed))

    if model.has_encoder and extras:
        results.update(latent_metrics(model, splits, generator=generator))
    return results


@torch.no_grad()
def style_grid_accuracy(model: LatentModel, classifier: LatentModel, *, n_styles: int = 50, seed: int = 0) -> float:
    """The share of the Style & content grid — `n_styles` styles from the prior (seeded), each written as every
    digit — that `classifier` reads as the digit asked for (the paper's figure 7, scored)."""
    model.eval()
    styles = model.sample_styles(n_styles, generator=torch.Generator().manual_seed(seed))
    read = classifier.predict(model.style_grid(styles).to(classifier.device)).cpu()
    asked = torch.arange(model.n_content).repeat(n_styles)
    return float((read == asked).float().mean())


LATENT_METRICS = ("knn_accuracy", "silhouette", "mmd", "recon_bce", "recon_mse")


def eval_generator(model: LatentModel, *, n_samples: int = 10_000, seed: int = 0) -> torch.Generator:
    """The random stream `evaluate` hands to `latent_metrics`: seeded, then advanced past the `n_samples` prior
    draws of the sample metrics. A page that passes it gets the very numbers `aae eval` prints."""
    generator = torch.Generator().manual_seed(seed)
    if model.generates:
        model.sample_latent(n_samples, generator=generator)
    return generator


@torch.no_grad()
def latent_metrics(model: LatentModel, splits: Splits, *, generator: torch.Generator) -> dict[str, float]:
    """The encoder's numbers on the test set: MMD² of the codes to the prior, kNN accuracy and silhouette by
    class, reconstruction error (`aae eval`, the Home cards and the AAE-vs-VAE page all show these)."""
    from aae.core.metrics import knn_accuracy, mmd, reconstruction_error, silhouette

    model.eval()
    splits = with_test_split(splits)
    test_x, test_y = splits.test_x.cpu(), splits.test_y.cpu()
    codes = encode_all(model, test_x)  # (N, D)
    recon = reconstruction_error(test_x, reconstruct_all(model, test_x, test_y if model.conditional else None))
    return {
        # Against what the model decodes from: its prior (for the 2-D map, the heads plus the style prior).
        "mmd": mmd(codes, model.sample_latent(len(codes), generator=generator).float().cpu()),
        "knn_accuracy": knn_accuracy(codes, test_y),
        "silhouette": silhouette(codes, test_y),
        "recon_bce": recon["bce"],
        "recon_mse": recon["mse"],
    }




def recorded_latent_metrics(card: dict[str, Any], dataset: str, *, test_images: int, seed: int = 0,
                            n_samples: int = 10_000) -> dict[str, float] | None:
    """`latent_metrics` as `aae eval` wrote them into a checkpoint's card (`--write`), where they were measured as
    `latent_metrics(model, splits, generator=eval_generator(model, n_samples=n_samples, seed=seed))` would measure
    them now: on all `test_images` test images of `dataset`, with this seed (cards from before the seed was
    recorded used the default, 0) and `n_samples` samples. None where the card lacks them: then measure. The same
    numbers, without encoding the test set again."""
    metrics = card.get("metrics") or {}
    data = metrics.get("data") or {}
    if (data.get("dataset") != dataset or data.get("test_images") != test_images or data.get("seed", 0) != seed
            or data.get("samples") != n_samples
            or any(not isinstance(metrics.get(k), int | float) for k in LATENT_METRICS)):
        return None
    return {k: float(metrics[k]) for k in LATENT_METRICS}


@dataclass
class ClusterReport:
    """What y does on the test set: each image's category, each category's digit, and how well that holds."""

    probs: torch.Tensor  # (N, K) q(y | x) of the test images
    clusters: torch.Tensor  # (N,) argmax
    digits: torch.Tensor  # (K,) the digit each category stands for (the paper's way for clusters)
    error: float  # test error with `digits`
    confusion: torch.Tensor  # (K, 10) test images of each label per category
    digits_majority: torch.Tensor | None = None  # clustering AAE: names by majority of the training images
    error_majority: float | None = None

    def purity(self, digits: torch.Tensor | None = None) -> torch.Tensor:
        """Per category (K,): the share of its test images whose label is its digit (nan when empty)."""
        digits = self.digits if digits is None else digits
        sizes = self.confusion.sum(dim=1).float()
        hits = self.confusion.gather(1, digits.view(-1, 1)).squeeze(1).float()
        return torch.where(sizes > 0, hits / sizes.clamp_min(1), torch.full_like(sizes, float("nan")))


@torch.no_grad()
def cluster_report(model: LatentModel, splits: Splits, *,
                   names: tuple[list[int], list[int]] | None = None) -> ClusterReport:
    """Semi-supervised AAE: y is the class. Clustering AAE: clusters named the paper's way from the
    validation images and by majority from the training images (aae.core.metrics.clustering), or by `names`
    (the paper's way, majority), as `aae eval` measured them for this model's card: then only the test images
    are read (a fifth of the work: 0.4 s instead of 2.4 s for a 16-cluster model on a 2-core CPU)."""
    from aae.core.metrics import assign_clusters, classification_error, clustering_error, confusion

    splits = with_test_split(splits)
    probs = category_probs_all(model, splits.test_x.cpu())
    test_y = splits.test_y.cpu()
    clusters = probs.argmax(dim=1)
    table = confusion(clusters, test_y, model.n_content)
    if model.uses_labels:  # semi-supervised (and its 2-D map): y is the class
        return ClusterReport(probs, clusters, torch.arange(model.n_content), classification_error(clusters, test_y),
                             table)
    if names is not None:
        digits, majority = (torch.as_tensor(n, dtype=torch.long) for n in names)
        if digits.shape != (model.n_content,) or majority.shape != (model.n_content,):
            raise ValueError(f"the cluster names given are not one digit per cluster ({model.n_content})")
    else:
        digits = assign_clusters(category_probs_all(model, splits.val_x.cpu()), splits.val_y.cpu())
        majority = assign_clusters(category_probs_all(model, splits.train_x.cpu()), splits.train_y.cpu(),
                                   method="majority")
    return ClusterReport(probs, clusters, digits, clustering_error(clusters, test_y, digits), table,
                         majority, clustering_error(clusters, test_y, majority))


def categorical_errors(model: LatentModel, splits: Splits) -> dict[str, Any]:
    """Semi-supervised AAE: test error of argmax q(y|x). Clustering AAE: clustering test error, both ways,
    the digit of each cluster (the paper's way) and the test images per cluster."""
    report = cluster_report(model, splits)
    if model.uses_labels:
        return {"test_error": report.error}
    return {"cluster_error": report.error, "cluster_error_majority": report.error_majority,
            "cluster_digits": report.digits.tolist(), "cluster_digits_majority": report.digits_majority.tolist(),
            "cluster_sizes": report.confusion.sum(dim=1).tolist()}


@torch.no_grad()
def denoising_errors(model: LatentModel, test_x: torch.Tensor, *, seed: int = 0) -> dict[str, float]:
    """Denoising AAE: per-pixel MSE to the clean test images of the reconstructions of corrupted copies."""
    from aae.core.corruption import corrupt

    noisy = corrupt(test_x, model.config.corruption, model.config.corruption_level,
                    generator=torch.Generator().manual_seed(seed))
    denoised = reconstruct_all(model, noisy)
    return {"denoise_mse": float((denoised - test_x).pow(2).mean()),
            "noisy_mse": float((noisy - test_x).pow(2).mean())}


def format_table(names: list[str], rows: list[dict[str, Any]]) -> str:
    """A plain-text table: one column per model, one row per metric that any of them has."""
    keys = [k for k in METRICS if any(k in r for r in rows)]
    width = max(len(METRICS[k].label) + 2 for k in keys) if keys else 10
    col = max(14, *(len(n) + 2 for n in names))
    lines = [" " * width + "".join(n.rjust(col) for n in names)]
    for key in keys:
        cells = []
        for row in rows:
            value = row.get(key)
            cells.append("—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append(f"{METRICS[key].label} {METRICS[key].arrow}".ljust(width) + "".join(c.rjust(col) for c in cells))
    if rows:
        data = rows[0]["data"]
        datasets = " and ".join(dict.fromkeys(r["data"]["dataset"] for r in rows))  # each model on its own
        lines.append(f"measured on {datasets}: {data['test_images']} test images, "
                     f"{data['validation_images']} validation images, {data['samples']} samples per model; "
                     "↑ higher is better, ↓ lower")
    return "\n".join(lines)
