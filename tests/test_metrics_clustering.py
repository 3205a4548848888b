"""aae.core.metrics.clustering by hand, and what `evaluate` reports for the categorical and denoising AAEs."""

from __future__ import annotations

import pytest
import torch

from aae.core.corruption import corrupt
from aae.core.metrics import assign_clusters, classification_error, clustering_error
from aae.core.metrics.evaluate import categorical_errors, denoising_errors
from aae.core.models import AAEConfig, ClusteringAAEConfig
from aae.core.priors import PriorConfig
from aae.core.training import create_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")



# -- clustering error by hand ----------------------------------------------------------------------------
# Eight reference images, four clusters. Argmax members: cluster 0 <- images 0, 1, 2 (labels 3, 3, 5);
# cluster 1 <- images 3, 4 (labels 1, 1); cluster 2 <- images 5, 6, 7 (labels 7, 2, 7); cluster 3 <- none.
# Most confident member per column: 0 -> image 2 (0.9, label 5), 1 -> image 3 (0.8, label 1),
# 2 -> image 7 (0.7, label 7), 3 -> image 6 (0.4, label 2).
PROBS = torch.tensor([
    [0.70, 0.10, 0.10, 0.10],
    [0.60, 0.20, 0.10, 0.10],
    [0.90, 0.05, 0.05, 0.00],
    [0.10, 0.80, 0.10, 0.00],
    [0.20, 0.50, 0.30, 0.00],
    [0.00, 0.10, 0.60, 0.30],
    [0.10, 0.00, 0.50, 0.40],
    [0.00, 0.20, 0.70, 0.10],
])
LABELS = torch.tensor([3, 3, 5, 1, 1, 7, 2, 7])
CONFIDENT = [5, 1, 7, 2]
MAJORITY = [3, 1, 7, 2]  # cluster 0: two 3s beat one 5; cluster 3 is empty and keeps its confident digit 2


def test_assign_clusters_confident_takes_each_clusters_most_confident_member():
    assert assign_clusters(PROBS, LABELS).tolist() == CONFIDENT
    assert assign_clusters(PROBS, LABELS, method="confident").tolist() == CONFIDENT


def test_assign_clusters_majority_takes_the_commonest_label_and_falls_back_for_empty_clusters():
    assert assign_clusters(PROBS, LABELS, method="majority").tolist() == MAJORITY


def test_clustering_error_is_the_share_of_images_named_after_the_wrong_digit():
    clusters = torch.tensor([0, 0, 1, 2, 3, 3, 2, 0])
    labels = torch.tensor([5, 3, 1, 7, 2, 9, 2, 5])
    # confident names them [5, 5, 1, 7, 2, 2, 7, 5]: wrong at 1, 5, 6
    assert clustering_error(clusters, labels, torch.tensor(CONFIDENT)) == pytest.approx(3 / 8)
    # majority names them [3, 3, 1, 7, 2, 2, 7, 3]: wrong at 0, 5, 6, 7
    assert clustering_error(clusters, labels, torch.tensor(MAJORITY)) == pytest.approx(4 / 8)
    assert clustering_error(clusters, torch.tensor([3, 3, 1, 7, 2, 2, 7, 3]), torch.tensor(MAJORITY)) == 0.0


def test_classification_error_by_hand():
    assert classification_error(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])) == 0.5
    assert classification_error(torch.tensor([7]), torch.tensor([7])) == 0.0
    assert classification_error(torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])) == 1.0


def test_bad_shapes_and_methods_are_refused():
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3, 4]))
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.zeros(2, 2), torch.zeros(4))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(PROBS[:, 0], LABELS)  # one-dimensional
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(PROBS, LABELS[:5])
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown assignment"):
        assign_clusters(PROBS, LABELS, method="hungarian")


# -- the variants' evaluation -----------------------------------------------------------------------------
def test_categorical_errors_of_a_semi_supervised_aae_is_its_test_error(tiny_semi, small_splits):
    errors = categorical_errors(tiny_semi, small_splits)
    expected = (tiny_semi.classify(small_splits.test_x) != small_splits.test_y).float().mean().item()
    assert errors == {"test_error": pytest.approx(expected)}


def test_categorical_errors_of_a_clustering_aae(small_splits):
    """Cluster errors both ways, one digit per cluster, and cluster sizes that count every test image."""
    model = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=32, n_categories=12), seed=0).eval()
    errors = categorical_errors(model, small_splits)
    assert 0 <= errors["cluster_error"] <= 1 and 0 <= errors["cluster_error_majority"] <= 1
    assert len(errors["cluster_digits"]) == 12 and all(0 <= d <= 9 for d in errors["cluster_digits"])
    assert len(errors["cluster_sizes"]) == 12 and sum(errors["cluster_sizes"]) == len(small_splits.test_x)
    clusters = model.classify(small_splits.test_x)
    mapping = torch.tensor(errors["cluster_digits"])
    assert errors["cluster_error"] == pytest.approx(clustering_error(clusters, small_splits.test_y, mapping))
    # naming each cluster by majority over the training images can only fit those images better
    train_clusters = model.classify(small_splits.train_x)
    majority = assign_clusters(model.category_probs(small_splits.train_x), small_splits.train_y, method="majority")
    assert clustering_error(train_clusters, small_splits.train_y, majority) <= \
        clustering_error(train_clusters, small_splits.train_y, mapping)


def test_denoising_errors_measure_the_reconstruction_of_corrupted_test_images(small_splits):
    model = create_model("aae", AAEConfig(latent_dim=4, hidden=32, prior=PriorConfig("gaussian", 1.0),
                                          corruption="masking", corruption_level=0.5), seed=0).eval()
    test_x = small_splits.test_x[:200]
    errors = denoising_errors(model, test_x, seed=3)
    noisy = corrupt(test_x, "masking", 0.5, generator=torch.Generator().manual_seed(3))
    assert errors["noisy_mse"] == pytest.approx((noisy - test_x).pow(2).mean().item())
    assert errors["denoise_mse"] == pytest.approx((model.reconstruct(noisy) - test_x).pow(2).mean().item(), rel=1e-5)
    assert errors == denoising_errors(model, test_x, seed=3)  # repeatable for a seed




def test_a_cluster_report_named_from_a_card_reads_only_the_test_images(small_splits):
    """Names given (as `aae eval` wrote them into a card): the same report, with the validation and training images
    never read; names that are not one digit per cluster are refused."""
    from aae.core.data import Splits
    from aae.core.metrics.evaluate import cluster_report

    model = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=32, n_categories=12), seed=0).eval()
    full = cluster_report(model, small_splits)
    names = (full.digits.tolist(), full.digits_majority.tolist())
    nothing, no_labels = small_splits.train_x[:0], small_splits.train_y[:0]
    test_only = Splits("mnist", nothing, no_labels, nothing, no_labels, small_splits.test_x, small_splits.test_y)
    named = cluster_report(model, test_only, names=names)
    assert (named.error, named.error_majority) == (full.error, full.error_majority)
    assert torch.equal(named.digits, full.digits) and torch.equal(named.confusion, full.confusion)
    with pytest.raises(ValueError, match="one digit per cluster"):
        cluster_report(model, small_splits, names=(names[0][:5], names[1]))
