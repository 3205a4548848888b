"""Checkpoints: a folder with the weights in safetensors and a JSON card saying what they are.

    PATH/card.json           kind, full config, dataset, training (seed, epochs, device, time,
                             history), package versions, measured metrics, SHA-256 of each file
    PATH/model.safetensors   the weights (float32, or float16 inference weights for shipping)
    PATH/optimizer.safetensors + optimizer.json   Adam state per phase, when saved for resuming

Loading never executes code (safetensors and JSON only) and checks every file against the
card's hash, so a truncated or swapped file is a clear CheckpointError, not a silent wrong model.
A checkpoint is written into a temporary folder beside PATH and renamed into place at the end.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aae.core.models import LatentModel, build_model

FORMAT = "latent-lab-checkpoint/1"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "checkpoints"  # the trained models that come with the app
# The classifier that Fréchet distance and class coverage use, per dataset (a model is measured on its own).
CLASSIFIERS = {"mnist": "classifier", "fashion-mnist": "classifier-fashion"}


def classifier_path(dataset: str = "mnist") -> Path:
    """Where the shipped classifier for `dataset` lives (it may not exist yet)."""
    return SHIPPED_DIR / CLASSIFIERS.get(dataset, f"classifier-{dataset}")


def dataset_of(card: dict[str, Any]) -> str:
    """The dataset a checkpoint was trained on, from its card (cards from before datasets were recorded: MNIST)."""
    return (card.get("dataset") or {}).get("name") or "mnist"
CARD, WEIGHTS, OPT_TENSORS, OPT_META = "card.json", "model.safetensors", "optimizer.safetensors", "optimizer.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete, corrupted, or does not fit the model its card describes."""


@dataclass
class Checkpoint:
    model: LatentModel
    card: dict[str, Any]
    optimizer_state: dict[str, Any] | None  # None when the checkpoint holds inference weights only
    path: Path

    @property
    def name(self) -> str:
        return self.card.get("name") or self.path.name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _flatten_optimizers(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Adam state dicts -> (tensors keyed "phase/param/name", JSON for param_groups and non-tensor state)."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for phase, sd in state.items():
        scalars: dict[str, dict[str, Any]] = {}
        for param_id, param_state in sd["state"].items():
            for key, value in param_state.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{phase}/{param_id}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars.setdefault(str(param_id), {})[key] = value
        meta[phase] = {"param_groups": sd["param_groups"], "scalars": scalars,
                       "param_ids": [str(i) for i in sd["state"]]}
    return tensors, meta


def _unflatten_optimizers(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for phase, info in meta.items():
        per_param: dict[int, dict[str, Any]] = {int(i): dict(info["scalars"].get(i, {})) for i in info["param_ids"]}
        state[phase] = {"state": per_param, "param_groups": info["param_groups"]}
    for key, value in tensors.items():
        phase, param_id, name = key.split("/")
        state[phase]["state"][int(param_id)][name] = value
    return state


WEIGHT_DTYPES = ("float32", "float16", "int8")
INT8_SCALE = ".int8_scale"  # suffix of the per-row scales stored beside each int8 matrix
INT8_MIN_SIZE = 4096  # smaller tensors (biases, tiny layers) stay float16 in an int8 checkpoint


def model_weights(
    model: LatentModel, *, inference_only: bool = False, dtype: str = "float32"
) -> dict[str, torch.Tensor]:
    """The state dict to store: all of it, or only what encoding/decoding needs (e.g. no discriminator).

    dtype "float16" halves floating tensors; "int8" also stores each weight matrix (and conv kernel)
    as int8 with one float16 scale per output row (symmetric, round to nearest): a quarter of
    float32, for shipping. `load_checkpoint` turns both back into float32.
    """
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(f"unknown weights dtype {dtype!r}; choose {', '.join(WEIGHT_DTYPES)}")
    state = model.state_dict()
    if inference_only:
        keep = {id(m) for m in model.inference_modules()}
        prefixes = [name + "." for name, module in model.named_children() if id(module) in keep]
        state = {k: v for k, v in state.items() if any(k.startswith(p) for p in prefixes)}
    out = {}
    for key, value in state.items():
        value = value.detach().cpu().contiguous()
        if not value.is_floating_point() or dtype == "float32":
            out[key] = value
        elif dtype == "int8" and value.ndim >= 2 and value.numel() >= INT8_MIN_SIZE:
            out[key], out[key + INT8_SCALE] = quantize_int8(value)
        else:
            out[key] = value.half()
    return out


def quantize_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row symmetric int8: (q (same shape, int8), scale (rows,) float16) with weight ≈ q · scale."""
    rows = weight.float().flatten(1)
    scale = (rows.abs().amax(dim=1) / 127.0).half()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row (or one below fp16) stays 0
    q = (rows / scale.float()[:, None]).round().clamp(-127, 127).to(torch.int8)
    return q.view_as(weight), scale


def dequantize(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored tensors back to float32 (int8 matrices times their row scales); integer buffers unchanged."""
    out = {}
    for key, value in weights.items():
        if key.endswith(INT8_SCALE):
            continue
        scale = weights.get(key + INT8_SCALE)
        if scale is not None:
            shape = (-1,) + (1,) * (value.ndim - 1)
            out[key] = value.float() * scale.float().view(shape)
        else:
            out[key] = value.float() if value.is_floating_point() else value
    return out


def save_checkpoint(
    path: str | os.PathLike,
    model: LatentModel,
    *,
    card: dict[str, Any] | None = None,
    optimizer_state: dict[str, Any] | None = None,
    inference_only: bool = False,
    half: bool = False,
    dtype: str | None = None,
) -> Path:
    """Write `model` (and optionally its optimiser state) to the folder `path`, atomically.

    `card` holds what the caller knows (dataset, training, metrics, name); the kind, config,
    versions, weights' format and file hashes are added here. `dtype` ("float32", "float16",
    "int8"; `half` means "float16") sets how weights are stored; only float32 can be resumed.
    """
    dtype = dtype or ("float16" if half else "float32")
    import aae

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full_card: dict[str, Any] = {
        "format": FORMAT,
        "name": path.name,
        **(card or {}),
        "kind": model.kind,
        "config": model.config_dict(),
        "weights": {"dtype": dtype, "inference_only": inference_only,
                    "resumable": optimizer_state is not None and not inference_only},
        "versions": {"aae": aae.__version__, "torch": torch.__version__},
        "saved_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp.chmod(0o755)
        save_file(model_weights(model, inference_only=inference_only, dtype=dtype), str(tmp / WEIGHTS))
        files = [WEIGHTS]
        if optimizer_state is not None and not inference_only:
            tensors, meta = _flatten_optimizers(optimizer_state)
            save_file(tensors, str(tmp / OPT_TENSORS))
            (tmp / OPT_META).write_text(json.dumps(meta))
            files += [OPT_TENSORS, OPT_META]
        full_card["files"] = {name: _sha256(tmp / name) for name in files}
        (tmp / CARD).write_text(json.dumps(full_card, indent=2, default=_json_default))
        for file in tmp.iterdir():
            file.chmod(0o644)
        _replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished folder `new` to `target`; an old `target` is removed only after the move."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def _json_default(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint card")


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """The card of the checkpoint at `path`, checked for format; a CheckpointError if absent or unreadable."""
    path = Path(path)
    card_path = path / CARD
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not card_path.is_file():
        raise CheckpointError(f"{path} is not a Latent Lab checkpoint: it has no {CARD}")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{card_path} is damaged (not valid JSON: {error})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise CheckpointError(f"{card_path} is not a {FORMAT} card (format: {card.get('format')!r})")
    return card


def update_card(path: str | os.PathLike, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into a checkpoint's card (e.g. measured metrics), written atomically."""
    path = Path(path)
    card = {**read_card(path), **changes}
    tmp = path / f".{CARD}.tmp"
    tmp.write_text(json.dumps(card, indent=2, default=_json_default))
    tmp.chmod(0o644)
    os.replace(tmp, path / CARD)
    return card


def _check_file(path: Path, card: dict[str, Any], name: str) -> None:
    expected = card.get("files", {}).get(name)
    if not (path / name).is_file():
        raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
    if expected and _sha256(path / name) != expected:
        raise CheckpointError(
            f"checkpoint {path}: {name} does not match its card (truncated, corrupted or replaced); "
            "re-download or retrain it"
        )


def load_checkpoint(path: str | os.PathLike, *, device: torch.device | str = "cpu") -> Checkpoint:
    """Rebuild the model a checkpoint describes and load its weights (float32), on `device`."""
    path = Path(path)
    card = read_card(path)
    _check_file(path, card, WEIGHTS)
    try:
        model = build_model(card["kind"], card["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path}: its card describes no model this version can build ({error})") \
            from None
    try:
        weights = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"checkpoint {path}: cannot read {WEIGHTS} ({error})") from None
    weights = dequantize(weights)
    strict = not card.get("weights", {}).get("inference_only", False)
    expected = model_weights(model, inference_only=not strict)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(model.state_dict()))
    wrong_shape = [k for k in expected if k in weights and weights[k].shape != expected[k].shape]
    if missing or unexpected or wrong_shape:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit a {card['kind']} with this config "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}, wrong shape {wrong_shape[:3]})"
        )
    model.load_state_dict(weights, strict=strict)
    model.to(device).eval()
    optimizer_state = None
    if card.get("weights", {}).get("resumable") and (path / OPT_META).is_file():
        _check_file(path, card, OPT_TENSORS)
        _check_file(path, card, OPT_META)
        try:
            optimizer_state = _unflatten_optimizers(load_file(str(path / OPT_TENSORS)),
                                                    json.loads((path / OPT_META).read_text()))
        except (SafetensorError, OSError, json.JSONDecodeError, KeyError, ValueError) as error:
            raise CheckpointError(f"checkpoint {path}: optimiser state is unreadable ({error})") from None
    return Checkpoint(model=model, card=card, optimizer_state=optimizer_state, path=path)


def find_checkpoints(*roots: str | os.PathLike) -> list[Path]:
    """Checkpoint folders (those with a card) directly inside each root, sorted by name; missing roots skipped."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if (p / CARD).is_file() and not p.name.startswith("."))
    return found
