"""The shipped models themselves: every generative checkpoint in checkpoints/ draws digits the shipped
classifier recognises, spread over the classes (a collapsed generator fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aae.checkpoints import CLASSIFIERS, classifier_path, dataset_of, find_checkpoints, load_checkpoint
from aae.metrics.coverage import class_coverage

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
GENERATIVE = [p for p in find_checkpoints(SHIPPED) if load_checkpoint(p).model.kind != "classifier"]


@pytest.fixture(scope="module")
def classifier():
    return load_checkpoint(SHIPPED / "classifier").model.eval()


@pytest.fixture(scope="module")
def classifiers():
    """Each dataset's shipped classifier: a model's samples are judged by the classifier of its own data."""
    return {dataset: load_checkpoint(classifier_path(dataset)).model.eval() for dataset in CLASSIFIERS}


def test_every_kind_of_model_is_shipped():
    kinds = {load_checkpoint(p).model.kind for p in GENERATIVE}
    assert {"aae", "vae", "gan", "supervised", "semi", "cluster", "dimred"} <= kinds
    # the second dataset: a classifier and a 2-D AAE and VAE, so every page works on Fashion-MNIST too
    fashion = {load_checkpoint(p).model.kind for p in find_checkpoints(SHIPPED)
               if dataset_of(load_checkpoint(p).card) == "fashion-mnist"}
    assert {"classifier", "aae", "vae"} <= fashion


@pytest.mark.parametrize("path", GENERATIVE, ids=lambda p: p.name)
def test_shipped_samples_are_recognisable_digits_of_most_classes(path, classifiers, one_torch_thread):
    checkpoint = load_checkpoint(path)
    model, classifier = checkpoint.model, classifiers[dataset_of(checkpoint.card)]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if model.conditional:  # styles written as every digit (or cluster)
            images = model.style_grid(model.sample_styles(50, generator=generator))
        else:
            images = model.sample(500, generator=generator)
        probabilities = classifier(images).softmax(dim=1)
    confidence = probabilities.max(dim=1).values.mean().item()
    coverage = class_coverage(probabilities.argmax(dim=1))
    # Measured 2026-11-22: confidence 0.76 (2-D Gaussian AAE) to 0.98; 8-10 classes. The plain dense GAN
    # shipped before then was confident (0.92) on 5 classes only, and would fail here.
    assert confidence > 0.7, f"{path.name}: the classifier is unsure what its samples are ({confidence:.2f})"
    assert coverage.modes_covered >= 8, f"{path.name}: samples cover {coverage.modes_covered} classes of 10"


def test_the_semi_supervised_model_writes_each_column_as_its_digit(classifier, one_torch_thread):
    """The Style & content page's grid for the shipped semi-supervised AAE: column k is the digit k."""
    model = load_checkpoint(SHIPPED / "semi-100").model.eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        images = model.style_grid(model.sample_styles(50, generator=generator))  # 50 rows of the digits 0..9
        read = classifier(images).argmax(dim=1)
    written = torch.arange(10).repeat(50)
    accuracy = (read == written).float().mean().item()
    # Measured 2026-11-30 on the 50,000-image semi-100: 81 % (the goal is 90 %, not reached yet: the
    # blurry rows are styles from the prior's edge). The 9,000-image model wrote the columns 7, 8, 9 as 4, 2, 4.
    assert accuracy >= 0.75, f"the classifier reads {accuracy:.0%} of the columns as their digit"
