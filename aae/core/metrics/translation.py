"""How well a CycleGAN translates, each way between its two domains (aae.core.domains): does the class survive, does
the result look like the target domain, and does a round trip come back?

For each direction the source domain's images are translated and read by a classifier of the *target* domain:
- class preservation: the share it reads as the source image's own class (pairs whose classes correspond, such
  as MNIST and 8×8 digits), and beside it the same classifier on the untranslated images (the naive baseline);
- class preservation, matched: the same after the best one-to-one renaming of classes (Hungarian), for pairs
  whose classes do not correspond (digits to clothes): how consistently each class goes to one class;
- realism: the classifier's mean confidence on the translations, and the Fréchet distance of its penultimate
  features between the translations and the target domain's own images of the same split;
- cycle error: the mean absolute per-pixel difference between images and their round trips;
- where the target is the 8×8 digits, class preservation read a second time by a reader of another kind (an SVM on
  the 8×8 grid), which a translation trained against a CNN judge cannot have been tuned to.

The classifiers: MNIST and Fashion-MNIST have their shipped ones (checkpoints/classifier, classifier-fashion).
The 8×8 digits have none shipped: `digits8_classifier` trains the same CNN on their 1,197 training images, on
the fly and deterministically (seeded, one thread, small shifts as augmentation; the epoch kept is the one best
on the 300 validation images), in a few seconds, and caches it for the process.

Only the final evaluation reads test splits (`split="test"`); choices (epochs, settings) are made on `"val"`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aae.core.domains import check_direction, digits8_grid, digits8_indices, load_domain, pair
from aae.core.metrics.frechet import classifier_features, frechet_distance

TRANSLATION_KEYS = ("class_preservation", "class_preservation_matched", "translation_confidence",
                    "translation_frechet", "cycle_error")


@dataclass
class DirectionReport:
    """One direction of a CycleGAN measured on one split of its source domain."""

    direction: str  # "ab" or "ba"
    source: str
    target: str
    images: int
    same_classes: bool
    read: torch.Tensor  # (N,) the target classifier's class of each translation
    labels: torch.Tensor  # (N,) each source image's class
    read_untranslated: torch.Tensor  # (N,) the same classifier on the source images themselves
    confidence: float  # mean largest class probability on the translations
    frechet: float  # classifier features of the translations vs the target domain's images
    cycle_error: float  # mean |round trip − image| per pixel
    read_pixels: torch.Tensor | None = None  # (N,) a second reader of another kind (8×8 digits: `pixel_reader`)
    confusion: torch.Tensor = field(init=False)  # (10, 10): source class × class read in the translation

    def __post_init__(self) -> None:
        self.confusion = confusion_matrix(self.labels, self.read)

    @property
    def preservation(self) -> float | None:
        """The share read as its own class (None where the two domains' classes do not correspond)."""
        return float((self.read == self.labels).float().mean()) if self.same_classes else None

    @property
    def preservation_untranslated(self) -> float | None:
        return float((self.read_untranslated == self.labels).float().mean()) if self.same_classes else None

    @property
    def preservation_matched(self) -> float:
        return matched_accuracy(self.confusion)

    def metrics(self) -> dict[str, Any]:
        d = self.direction
        out: dict[str, Any] = {f"class_preservation_matched_{d}": self.preservation_matched,
                               f"translation_confidence_{d}": self.confidence,
                               f"translation_frechet_{d}": self.frechet, f"cycle_error_{d}": self.cycle_error}
        if self.same_classes:
            out[f"class_preservation_{d}"] = self.preservation
            out[f"class_preservation_untranslated_{d}"] = self.preservation_untranslated
            if self.read_pixels is not None:
                out[f"class_preservation_pixels_{d}"] = float((self.read_pixels == self.labels).float().mean())
        return out


def confusion_matrix(labels: torch.Tensor, read: torch.Tensor, n: int = 10) -> torch.Tensor:
    """(n, n) counts: row = true class, column = class read."""
    return torch.bincount(labels.long().cpu() * n + read.long().cpu(), minlength=n * n).view(n, n)


def matched_accuracy(confusion: torch.Tensor) -> float:
    """Accuracy under the one-to-one renaming of classes that fits the confusion table best (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    table = confusion.numpy()
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / max(table.sum(), 1))


# -- the 8×8 digits' classifier -----------------------------------------------------------------------

DIGITS8_CLASSIFIER = {"channels": 16, "feature_dim": 64, "dropout": 0.25}
DIGITS8_EPOCHS, DIGITS8_BATCH, DIGITS8_SHIFT = 30, 50, 2


def _shifted(x: torch.Tensor, generator: torch.Generator, pixels: int) -> torch.Tensor:
    """Each image moved by a random whole number of pixels in [−pixels, pixels] each way (zeros flow in)."""
    padded = F.pad(x, (pixels,) * 4)
    shifts = torch.randint(0, 2 * pixels + 1, (len(x), 2), generator=generator)
    return torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(shifts.tolist())])


def train_digits8_classifier(seed: int = 0, *, epochs: int = DIGITS8_EPOCHS):
    """The CNN of aae.core.models.classifier, trained on the 8×8 digits' training split (seeded, one thread); the
    weights of the epoch best on their validation split. Returns (classifier in eval mode, validation accuracy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():  # also when first asked for inside a no-grad evaluation
            return _fit_digits8(seed, epochs)
    finally:
        torch.set_num_threads(threads)


def _fit_digits8(seed: int, epochs: int):
    from aae.core.models.classifier import ClassifierConfig, MnistClassifier

    splits = load_domain("digits8")
    torch.manual_seed(seed)
    model = MnistClassifier(ClassifierConfig(**DIGITS8_CLASSIFIER))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(splits.train_x), generator=generator)
        for i in range(0, len(order), DIGITS8_BATCH):
            idx = order[i:i + DIGITS8_BATCH]
            x = _shifted(splits.train_x[idx], generator, DIGITS8_SHIFT)
            loss = F.cross_entropy(model(x), splits.train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracy = float((model.predict(splits.val_x) == splits.val_y).float().mean())
        if accuracy > best:
            best, best_state = accuracy, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model.eval(), best


@functools.lru_cache(maxsize=2)
def digits8_classifier(seed: int = 0):
    """`train_digits8_classifier(seed)`'s classifier, trained once per process."""
    return train_digits8_classifier(seed)[0]


@functools.lru_cache(maxsize=1)
def _pixel_svm():
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    digits = load_digits()
    train = digits8_indices(0)[0].numpy()
    return SVC(gamma="scale").fit(digits.data[train], digits.target[train])


def pixel_reader(images: torch.Tensor) -> torch.Tensor:
    """The class of each 28×28 image (N, 1, 28, 28) in the 8×8 digits' style as read by a reader of another kind than
    the CNNs: a support-vector machine (RBF kernel) on the 64 grey levels of the 8×8 grid (`digits8_grid`), trained
    on the 8×8 digits' training split. A translation trained to satisfy a CNN classifier (the target class term)
    cannot have been tuned to it, so it tells a translation that draws the class from one that fools the CNN."""
    grid = digits8_grid(images).reshape(len(images), 64).numpy()
    return torch.from_numpy(_pixel_svm().predict(grid)).long() if len(grid) else torch.zeros(0, dtype=torch.long)


JUDGE_SEED = 1  # the 8×8 digits' classifier a training may read with; evaluation reads with seed 0's


def training_judge(domain: str):
    """A classifier of `domain` for a training to read its translations with (a CycleGAN's target class term),
    other than the one `aae eval` reads with, so that a translation is never trained on the judge of its figures:
    for the 8×8 digits, the classifier trained on their training split with seed JUDGE_SEED."""
    if domain != "digits8":
        raise ValueError(f"no classifier of {domain} is kept apart from the one evaluation reads with")
    return digits8_classifier(JUDGE_SEED)


def domain_classifier(domain: str, *, classifier=None):
    """The classifier of `domain`: `classifier` where given (the caller's MNIST one), else the shipped one
    (MNIST, Fashion-MNIST), or for the 8×8 digits the one trained on the fly."""
    if domain == "digits8":
        return digits8_classifier()
    if classifier is not None:
        return classifier
    from aae.core.checkpoints import classifier_path, load_checkpoint

    return load_checkpoint(classifier_path(domain)).model.eval()


# -- measuring ----------------------------------------------------------------------------------------

def _images(domain: str, split: str, data_dir, cache: dict) -> tuple[torch.Tensor, torch.Tensor]:
    if (domain, split) not in cache:
        splits = load_domain(domain, data_dir=data_dir, test=split == "test")
        cache[domain, split] = ((splits.test_x, splits.test_y) if split == "test" else (splits.val_x, splits.val_y))
    return cache[domain, split]


@torch.no_grad()
def direction_report(model, direction: str, *, split: str = "val", data_dir=None, classifiers: dict | None = None,
                     limit: int | None = None, _cache: dict | None = None) -> DirectionReport:
    """`model` translating `direction` on `split` ("val" or "test") of its source domain; `classifiers` maps
    domains to classifiers (missing ones: `domain_classifier`); `limit` keeps the first images only."""
    check_direction(direction)
    if split not in ("val", "test"):
        raise ValueError(f"split is val or test, not {split!r}")
    p = pair(model.config.pair)
    source, target = p.domain(direction)
    cache = {} if _cache is None else _cache
    x, y = _images(source, split, data_dir, cache)
    x, y = x[:limit].cpu(), y[:limit].cpu()
    target_x = _images(target, split, data_dir, cache)[0].cpu()
    classifiers = classifiers or {}
    judge = classifiers.get(target) or domain_classifier(target)
    translated = model.translate(x, direction)
    back = model.translate(translated, "ba" if direction == "ab" else "ab")
    probs = judge.predict_proba(translated)
    return DirectionReport(
        direction=direction, source=source, target=target, images=len(x), same_classes=p.same_classes,
        read=probs.argmax(dim=1), labels=y, read_untranslated=judge.predict(x),
        confidence=float(probs.max(dim=1).values.mean()),
        frechet=frechet_distance(classifier_features(judge, translated), classifier_features(judge, target_x)),
        cycle_error=float((back - x).abs().mean()),
        read_pixels=pixel_reader(translated) if target == "digits8" else None,
    )


def translation_metrics(model, *, classifier=None, split: str = "test", data_dir=None,
                        limit: int | None = None) -> dict[str, Any]:
    """Every translation metric of `model`, both ways (`aae eval`'s row for a CycleGAN): keys as in METRICS,
    each ending in _ab or _ba, and the two confusion tables. `classifier` is domain A's (the caller's MNIST
    classifier) where given."""
    p = pair(model.config.pair)
    classifiers = {p.a: domain_classifier(p.a, classifier=classifier)}
    cache: dict = {}
    out: dict[str, Any] = {}
    for direction in ("ab", "ba"):
        report = direction_report(model, direction, split=split, data_dir=data_dir, classifiers=classifiers,
                                  limit=limit, _cache=cache)
        out.update(report.metrics())
        out[f"translation_confusion_{direction}"] = report.confusion.tolist()
    out["translation_data"] = {"pair": p.name, "domains": {"a": p.a, "b": p.b}, "split": split,
                               "images": {d: len(_images(s, split, data_dir, cache)[0][:limit])
                                          for d, s in (("a", p.a), ("b", p.b))},
                               "digits8_classifier": "trained on the fly (aae.core.metrics.translation)"
                               if "digits8" in (p.a, p.b) else None}
    return out


def naive_margin(metrics: dict[str, Any], direction: str = "ba") -> float | None:
    """How many points translation adds to the target classifier's reading of the source images: class
    preservation of the translations minus that of the untranslated (naively upscaled) images."""
    kept = metrics.get(f"class_preservation_{direction}")
    naive = metrics.get(f"class_preservation_untranslated_{direction}")
    return None if kept is None or naive is None else float(np.round(kept - naive, 6))


def where_it_fails(confusion, source_names: list[str], target_names: list[str], *, top: int = 5,
                   same_classes: bool = True) -> list[dict[str, Any]]:
    """The `top` most frequent mistakes of a confusion table (source class × class read): each with how many test
    images of that class were read so, and their share of the class. Off-diagonal cells where the classes
    correspond; otherwise every cell outside the best one-to-one renaming."""
    from scipy.optimize import linear_sum_assignment

    table = np.asarray(confusion)
    kept = np.eye(len(table), dtype=bool)
    if not same_classes:
        kept[:] = False
        rows, cols = linear_sum_assignment(-table)
        kept[rows, cols] = True
    totals = table.sum(axis=1)
    cells = [(int(table[i, j]), i, j) for i in range(len(table)) for j in range(table.shape[1])
             if not kept[i, j] and table[i, j] > 0]
    return [{"source": source_names[i], "read as": target_names[j], "images": n,
             "share of the class": n / max(int(totals[i]), 1)}
            for n, i, j in sorted(cells, key=lambda c: -c[0])[:top]]


@torch.no_grad()
def translate_one(model, image: torch.Tensor, direction: str, *, classifier=None) -> dict[str, Any]:
    """One image (28, 28) of the source domain of `direction`: its translation, the round trip, and what the
    target domain's classifier reads in the translation (class, probabilities) and in the untranslated image."""
    from aae.core.domains import class_names

    source, target = pair(model.config.pair).domain(direction)
    x = torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)
    translated = model.translate(x, direction)
    back = model.translate(translated, "ba" if direction == "ab" else "ab")
    judge = domain_classifier(target, classifier=classifier)
    probs = judge.predict_proba(translated)[0]
    names = class_names(target)
    return {"input": x[0, 0], "translated": translated[0, 0], "round_trip": back[0, 0],
            "read": names[int(probs.argmax())], "confidence": float(probs.max()), "probabilities": probs,
            "read_untranslated": names[int(judge.predict(x)[0])], "target_classes": names}
