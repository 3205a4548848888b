"""Errors of the semi-supervised and clustering AAEs, as the AAE paper measures them.

Classification error: the share of test images whose most probable y is not their label.

Clustering error (paper, section 6): the clusters are found without labels, so each must first be
named after a digit. Two ways are offered:
    "confident"  the paper's: cluster k takes the label of the reference image x that maximises
                 q(y = k | x) — its most confident member (the paper uses validation images);
    "majority"   cluster k takes the most common label among the reference images assigned to it
                 (argmax_k q(y | x) = k); a cluster with no such image falls back to "confident".
The error is then the share of test images whose cluster's digit differs from their label.
"""

from __future__ import annotations

from typing import Literal

import torch

Assignment = Literal["confident", "majority"]


def classification_error(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Share (0..1) of `predicted` (N,) that differ from `labels` (N,)."""
    if predicted.shape != labels.shape or predicted.numel() == 0:
        raise ValueError(f"need two equal, non-empty shapes; got {tuple(predicted.shape)} and {tuple(labels.shape)}")
    return float((predicted != labels).float().mean())


def assign_clusters(
    probs: torch.Tensor, labels: torch.Tensor, *, method: Assignment = "confident", n_classes: int = 10
) -> torch.Tensor:
    """The digit each of K clusters stands for (K,), from reference images' q(y|x) (N, K) and their labels (N,)."""
    if probs.ndim != 2 or len(probs) != len(labels) or len(labels) == 0:
        raise ValueError("need q(y|x) of shape (N, K) and N labels, N > 0")
    confident = labels[probs.argmax(dim=0)]  # (K,): the label of each cluster's most confident member
    if method == "confident":
        return confident.clone()
    if method != "majority":
        raise ValueError(f"unknown assignment {method!r}; choose 'confident' or 'majority'")
    counts = confusion(probs.argmax(dim=1), labels, probs.shape[1], n_classes)
    mapping = counts.argmax(dim=1).to(labels.device)
    empty = counts.sum(dim=1).to(labels.device) == 0
    return torch.where(empty, confident, mapping)


def clustering_error(clusters: torch.Tensor, labels: torch.Tensor, mapping: torch.Tensor) -> float:
    """Share (0..1) of images whose cluster (N,) is named (by `mapping`, (K,)) after another digit than their label."""
    return classification_error(mapping[clusters], labels)


def confusion(clusters: torch.Tensor, labels: torch.Tensor, n_clusters: int, n_classes: int = 10) -> torch.Tensor:
    """Counts (n_clusters, n_classes): how many images of each label each cluster received."""
    counts = torch.zeros(n_clusters, n_classes, dtype=torch.long)
    counts.index_put_((clusters.cpu().long(), labels.cpu().long()), torch.ones(len(labels), dtype=torch.long),
                      accumulate=True)
    return counts
