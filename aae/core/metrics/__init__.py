"""Evaluation metrics as plain functions: Parzen, Fréchet distance, class coverage, latent-space measures."""

from aae.core.metrics.clustering import assign_clusters, classification_error, clustering_error, confusion
from aae.core.metrics.coverage import DIGIT_FRECHET, TRUSTED_CONFIDENCE, Coverage, class_coverage, coverage_trust
from aae.core.metrics.frechet import classifier_frechet_distance, frechet_distance
from aae.core.metrics.latent import knn_accuracy, mmd, reconstruction_error, silhouette
from aae.core.metrics.parzen import ParzenResult, parzen_evaluate, parzen_log_likelihood, select_parzen_sigma

__all__ = [
    "Coverage",
    "ParzenResult",
    "assign_clusters",
    "classification_error",
    "class_coverage",
    "coverage_trust",
    "DIGIT_FRECHET",
    "TRUSTED_CONFIDENCE",
    "classifier_frechet_distance",
    "clustering_error",
    "confusion",
    "frechet_distance",
    "knn_accuracy",
    "mmd",
    "parzen_evaluate",
    "parzen_log_likelihood",
    "reconstruction_error",
    "select_parzen_sigma",
    "silhouette",
]
