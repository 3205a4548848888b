"""The shipped models themselves: every generative checkpoint in checkpoints/ draws digits the shipped
classifier recognises, spread over the classes (a collapsed generator fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aae.core.checkpoints import CLASSIFIERS, classifier_path, dataset_of, find_checkpoints, load_checkpoint
from aae.core.metrics.coverage import class_coverage
from aae.core.metrics.evaluate import style_grid_accuracy

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
GENERATIVE = [p for p in find_checkpoints(SHIPPED) if load_checkpoint(p).model.generates]  # not the classifiers,
# nor the CycleGAN (it translates the images it is given: tests/test_cyclegan.py)


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
    # the second dataset: a classifier, a 2-D AAE and VAE and a StyleGAN, so every page works on Fashion-MNIST too
    fashion = {load_checkpoint(p).model.kind for p in find_checkpoints(SHIPPED)
               if dataset_of(load_checkpoint(p).card) == "fashion-mnist"}
    assert {"classifier", "aae", "vae", "stylegan"} <= fashion


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
    # Measured 2026-12-01 on the shipped semi-100 (read-back term, consistency 30, seed 2): 99.4 % (seeds 0, 1:
    # 99.8, 99.4 %); at consistency 10, 98.4 %.
    # Before the read-back term (--cycle) the model wrote 86.4 % of it right
    # (0s at 62 %); the 9,000-image model wrote the columns 7, 8, 9 as 4, 2, 4.
    assert accuracy >= 0.9, f"the classifier reads {accuracy:.0%} of the columns as their digit"
    # `aae eval` scores the same grid the same way (the figure the page shows) ...
    assert style_grid_accuracy(model, classifier) == pytest.approx(accuracy)
    # ... and would see a model that wrote each column as the next digit: the metric reads what is asked
    shifted = model.style_grid
    model.style_grid = lambda styles: shifted(styles).view(len(styles), 10, 1, 28, 28).roll(1, dims=1).flatten(0, 1)
    assert style_grid_accuracy(model, classifier) < 0.2


@pytest.mark.parametrize("name", ["aae-2d-mog10", "aae-2d-swissroll"])
def test_label_regularised_models_write_each_part_of_the_prior_as_its_digit(name, classifier, one_torch_thread):
    """Figure 4: codes drawn from the prior's part for digit k decode to a k (the Prior & samples grid)."""
    model = load_checkpoint(SHIPPED / name).model.eval()
    labels = torch.arange(500) % 10
    with torch.no_grad():
        images = model.decode(model.sample_latent(500, labels=labels, generator=torch.Generator().manual_seed(0)))
        read = classifier(images).argmax(dim=1)
    accuracy = (read == labels).float().mean().item()
    # Measured 2026-11-30: mog10 99.2 %, swiss roll 94.6 %. The paper's separate phases on 50,000 images wrote
    # mog10's 9s as other digits (89.2 %) and lost the swiss roll (13.4 %): they are not shipped.
    assert accuracy >= 0.9, f"{name}: the classifier reads {accuracy:.0%} of the prior's parts as their digit"


@pytest.mark.parametrize("path", find_checkpoints(SHIPPED), ids=lambda p: p.name)
def test_every_shipped_card_says_it_trained_on_the_full_split_with_its_recipe(path):
    """Every shipped model trained on at least 50,000 images, and its recipe resolves to the run its card holds."""
    from aae.core.models import config_from_dict
    from aae.core.spec import resolve
    from aae.lab.recipes import get_recipe

    card = load_checkpoint(path).card
    assert card["dataset"]["train_images"] >= 50_000 and card["dataset"]["val_images"] == 10_000
    recipe = get_recipe(path.name)
    assert recipe.shipped and card["recipe"]["name"] == recipe.name
    assert card["name"] == path.name  # what the model picker shows, not the folder it was exported from
    run, training = resolve(recipe.run), card["training"]
    assert config_from_dict(card["kind"], card["config"]) == run.model
    assert training["epochs"] == run.train.epochs and training["seed"] == run.train.seed
    assert training["lr_steps"] == list(run.train.lr_steps) and training["lr"] == run.train.lr
    assert (training.get("precision_used") or training["precision"]) == run.train.precision
    if "regularization" in training:  # the classifier has none
        assert training["regularization"] == run.train.regularization


def test_the_8d_aae_gives_the_test_digits_a_higher_parzen_likelihood_than_the_vae_of_its_size(data_dir,
                                                                                                one_torch_thread):
    """Table 1's claim, on the shipped pair (same networks, prior and data): the AAE's samples explain the test
    digits better than the VAE's. A slice of `aae eval`'s protocol, about 1 s a model: 2,000 samples each, the
    σ chosen on 1,000 validation images, 2,000 test images. Measured 2026-12-01: AAE (input noise σ 0.5) 247.1,
    VAE 210.7, the AAE without input noise shipped before 198.1 (each ± 4.8 or less): that one fails here."""
    from aae.core.data import load_dataset
    from aae.core.metrics.parzen import parzen_evaluate

    splits = load_dataset("mnist", data_dir=data_dir, train_limit=100, test=True, test_limit=2000)
    scores = {}
    for name in ("aae-8d", "vae-8d"):
        model = load_checkpoint(SHIPPED / name).model.eval()
        with torch.no_grad():
            samples = model.sample(2000, generator=torch.Generator().manual_seed(0))
        scores[name] = parzen_evaluate(samples, splits.val_x[:1000], splits.test_x)
    aae, vae = scores["aae-8d"], scores["vae-8d"]
    assert aae.mean > vae.mean + 2 * max(aae.stderr, vae.stderr), {k: (v.mean, v.stderr) for k, v in scores.items()}


@pytest.mark.parametrize("name, metric", [("semi-100", "test_error"), ("cluster-16", "cluster_error"),
                                          ("cluster-30", "cluster_error")])
def test_the_shipped_semi_supervised_and_clustering_errors_are_what_their_cards_say(name, metric, data_dir,
                                                                                     one_torch_thread):
    """The headline figures of Tables 2 and 3, re-measured from the shipped weights on the official 10,000 test
    images (clusters named on the 10,000 validation images, as `aae eval` names them): the card's error, to within
    five images. (A slice would not do for clusters: the errors gather in a few clusters, not evenly.)"""
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import categorical_errors

    checkpoint = load_checkpoint(SHIPPED / name)
    recorded = checkpoint.card["metrics"][metric]
    splits = load_dataset("mnist", data_dir=data_dir, train_limit=100, test=True)
    measured = categorical_errors(checkpoint.model.eval(), splits)[metric]
    assert abs(measured - recorded) <= 5 / 10_000, f"{name}: {measured:.2%} measured, the card says {recorded:.2%}"
    assert measured < 0.15  # and it is a model that works, not chance (90 %)


def test_the_cluster_names_on_the_shipped_card_are_the_ones_its_images_give(data_dir):
    """The Clusters page names the shipped clusters from the card (reading only the test images) instead of reading
    the validation and training images again: the card's names must be what those images give, both ways."""
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import cluster_report

    checkpoint = load_checkpoint(SHIPPED / "cluster-16")
    metrics = checkpoint.card["metrics"]
    splits = load_dataset("mnist", data_dir=data_dir, test=True)
    measured = cluster_report(checkpoint.model.eval(), splits)
    assert measured.digits.tolist() == metrics["cluster_digits"]
    assert measured.digits_majority.tolist() == metrics["cluster_digits_majority"]
    from_card = cluster_report(checkpoint.model, splits, names=(metrics["cluster_digits"],
                                                               metrics["cluster_digits_majority"]))
    assert (from_card.error, from_card.error_majority) == (measured.error, measured.error_majority)
    assert torch.equal(from_card.confusion, measured.confusion)


def test_the_shipped_stylegan_draws_all_ten_digits_clearly_and_its_w_is_smoother_than_z(classifier,
                                                                                        one_torch_thread):
    """The StyleGAN's targets: its samples read as all ten digits with mean confidence ≥ 0.8, its Fréchet distance
    below the shipped dense GAN's, and its path length in W below the one in z (the StyleGAN paper's claim); the
    confidence is measured here again, the other figures come from the cards `aae eval` wrote."""
    from aae.lab.paper import DENSE_GAN, STYLEGAN, STYLEGAN_CONFIDENCE

    model = load_checkpoint(SHIPPED / STYLEGAN).model.eval()
    with torch.no_grad():
        probabilities = classifier(model.sample(1000, generator=torch.Generator().manual_seed(0))).softmax(dim=1)
    confidence = probabilities.max(dim=1).values.mean().item()
    coverage = class_coverage(probabilities.argmax(dim=1))
    # Measured 2026-12-03: 0.93 on 10,000 samples (the card), every digit at 7 % or more of them
    assert confidence >= STYLEGAN_CONFIDENCE and coverage.modes_covered == 10
    style = load_checkpoint(SHIPPED / STYLEGAN).card["metrics"]
    assert style["sample_confidence"] == pytest.approx(confidence, abs=0.02)  # the card's 10,000 against these
    assert style["frechet"] < load_checkpoint(SHIPPED / DENSE_GAN).card["metrics"]["frechet"]
    assert style["ppl_w"] < style["ppl"]
