"""One tester configuration per model kind: what tests/test_model_kinds.py needs to run its generic tests on it.

A new kind is its module in aae/core/models/ (model, config, CATALOG_ENTRIES) plus one entry here; the generic tests
then resolve, build, train, save, load, sample and score it by its declared capabilities, and fail until the
entry exists. Keep each entry tiny (a training step of it should take milliseconds on one CPU thread), yet with
one weight matrix of at least aae.core.checkpoints.INT8_MIN_SIZE values, so that its int8 checkpoint holds int8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelTester:
    kind: str  # the catalogue kind (aae.core.catalog.CATALOG)
    overrides: Mapping[str, Any] = field(default_factory=dict)  # fields for aae.core.spec.resolve: a tiny model
    batch_size: int = 50  # the training step's batch (the slice has 600 images)


def _testers(*testers: ModelTester) -> dict[str, ModelTester]:
    return {t.kind: t for t in testers}


TESTERS: dict[str, ModelTester] = _testers(
    ModelTester("aae", {"latent_dim": 4, "hidden": 32}),
    ModelTester("vae", {"latent_dim": 4, "hidden": 32}),
    ModelTester("gan", {"latent_dim": 16, "generator_hidden": (32, 64), "disc_channels": 8}),
    ModelTester("cgan", {"latent_dim": 16, "generator_hidden": (32, 64), "disc_channels": 8}),
    ModelTester("wgan-gp", {"latent_dim": 16, "generator_hidden": (32, 64), "critic_channels": 8,
                            "critic_steps": 2}),
    ModelTester("stylegan", {"latent_dim": 8, "w_dim": 64, "mapping_layers": 2, "channels": (8, 8, 4),
                             "disc_channels": (4, 8, 8)}, batch_size=32),
    ModelTester("supervised", {"latent_dim": 2, "hidden": 32}),
    ModelTester("semi", {"latent_dim": 4, "hidden": 32, "labels_per_class": 5}),
    ModelTester("cluster", {"latent_dim": 4, "hidden": 32, "n_categories": 6}),
    ModelTester("dimred", {"hidden": 32, "labels_per_class": 5}),
    # Domain B (the 8×8 digits) loads itself in prepare_training. Without the residual output an untrained
    # generator is not the identity, so a checkpoint's translations can tell one set of weights from another.
    ModelTester("cyclegan", {"channels": 12, "residual_blocks": 1, "disc_channels": 4, "residual_output": False}),
    ModelTester("classifier", {"channels": 4, "feature_dim": 32}),
)
