"""The models, and a registry that rebuilds any of them from the config stored in a checkpoint card."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from typing import Any

from aae.core.models.aae import AAEConfig, AdversarialAutoencoder
from aae.core.models.base import CatalogEntry, LatentModel, Phase, PhaseOutput
from aae.core.models.categorical import (
    ClusteringAAE,
    ClusteringAAEConfig,
    DimReductionAAE,
    DimReductionAAEConfig,
    SemiSupervisedAAE,
    SemiSupervisedAAEConfig,
)
from aae.core.models.classifier import ClassifierConfig, MnistClassifier
from aae.core.models.gan import GAN, GANConfig
from aae.core.models.style import SupervisedAAE, SupervisedAAEConfig
from aae.core.models.vae import VAEConfig, VariationalAutoencoder
from aae.core.priors import PriorConfig


def _discover() -> dict[str, CatalogEntry]:
    """Every model module's `CATALOG_ENTRIES`, in their declared order: adding a model is adding a module."""
    entries: list[CatalogEntry] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        entries.extend(getattr(module, "CATALOG_ENTRIES", ()))
    kinds = [e.kind for e in entries]
    duplicated = {k for k in kinds if kinds.count(k) > 1}
    if duplicated:
        raise RuntimeError(f"model kinds declared twice: {', '.join(sorted(duplicated))}")
    return {e.kind: e for e in sorted(entries, key=lambda e: (e.order, e.kind))}


CATALOG: dict[str, CatalogEntry] = _discover()
MODELS: dict[str, tuple[type[LatentModel], type]] = {kind: (e.model, e.config) for kind, e in CATALOG.items()}


def config_from_dict(kind: str, values: dict[str, Any]) -> Any:
    """The frozen config dataclass of `kind` from plain JSON values (nested prior, tuples restored).

    Unknown keys are an error rather than silently dropped: a card from another version should
    say so, not load into a different model.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}")
    config_cls = MODELS[kind][1]
    hints = typing.get_type_hints(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{kind} config has unknown fields: {', '.join(sorted(unknown))}")
    kwargs = {}
    for key, value in values.items():
        if hints[key] is PriorConfig and isinstance(value, dict):
            value = PriorConfig(**value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return config_cls(**kwargs)


def build_model(kind: str, config: Any | dict[str, Any] | None = None) -> LatentModel:
    """A fresh model of `kind` from a config dataclass, a dict of its fields, or the defaults."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}")
    model_cls, config_cls = MODELS[kind]
    if isinstance(config, dict):
        config = config_from_dict(kind, config)
    return model_cls(config or config_cls())


__all__ = [
    "AAEConfig", "AdversarialAutoencoder", "CATALOG", "CatalogEntry", "ClassifierConfig", "ClusteringAAE",
    "ClusteringAAEConfig", "DimReductionAAE", "DimReductionAAEConfig", "GAN",
    "GANConfig", "LatentModel", "MODELS", "MnistClassifier", "Phase", "PhaseOutput", "SemiSupervisedAAE",
    "SemiSupervisedAAEConfig", "SupervisedAAE", "SupervisedAAEConfig", "VAEConfig", "VariationalAutoencoder",
    "build_model", "config_from_dict",
]
