"""Latent Lab: the latent spaces of Adversarial Autoencoders, VAEs and GANs.

The package's layers: `aae.core` (data, priors, models, training, checkpoints, metrics), `aae.lab` (the recipes,
the paper's figures, sweeps and the results report), `aae.app` (what the app's pages ask for: jobs in worker
processes, exploring a latent space, projections, digits) and `aae.cli` (the `aae` command). The names below
are the core's most used, imported on first use so that `import aae` itself loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "DataNotFoundError": "aae.core.data", "Splits": "aae.core.data", "load_dataset": "aae.core.data",
    "resolve_data_dir": "aae.core.data",
    "GAN": "aae.core.models", "AAEConfig": "aae.core.models", "AdversarialAutoencoder": "aae.core.models",
    "GANConfig": "aae.core.models", "LatentModel": "aae.core.models", "VAEConfig": "aae.core.models",
    "VariationalAutoencoder": "aae.core.models", "build_model": "aae.core.models",
    "PriorConfig": "aae.core.priors", "make_prior": "aae.core.priors",
    "TrainConfig": "aae.core.training", "TrainEvent": "aae.core.training", "TrainingDiverged": "aae.core.training",
    "create_model": "aae.core.training", "train": "aae.core.training", "pick_device": "aae.core.device",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aae' has no attribute {name!r}")
