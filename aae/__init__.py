"""Latent Lab's core: data, priors, AAE/VAE/GAN models, training, checkpoints and metrics (no UI here)."""

from aae.data import DataNotFoundError, Splits, load_dataset, resolve_data_dir
from aae.models import (
    GAN,
    AAEConfig,
    AdversarialAutoencoder,
    GANConfig,
    LatentModel,
    VAEConfig,
    VariationalAutoencoder,
    build_model,
)
from aae.priors import PriorConfig, make_prior
from aae.training import TrainConfig, TrainEvent, TrainingDiverged, create_model, pick_device, train

__version__ = "0.1.0"

__all__ = [
    "GAN", "AAEConfig", "AdversarialAutoencoder", "DataNotFoundError", "GANConfig", "LatentModel",
    "PriorConfig", "Splits", "TrainConfig", "TrainEvent", "TrainingDiverged", "VAEConfig",
    "VariationalAutoencoder", "__version__", "build_model", "create_model", "load_dataset", "make_prior",
    "pick_device", "resolve_data_dir", "train",
]
