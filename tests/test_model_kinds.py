"""Generic tests of every model kind, driven by tests/model_testers.py (one tiny configuration per kind).

What each kind must do follows from its declared capabilities (aae.core.models.base.LatentModel's class attributes,
CatalogEntry.capabilities), never from its name: a kind that generates must sample, one with an encoder must
encode, one that translates must translate, and every kind must resolve, build, take a real training step
through the engine, and come back from a checkpoint. A new kind gets all of this from one tester entry.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from model_testers import TESTERS, ModelTester
from safetensors.torch import load_file

from aae.cli import main
from aae.core import catalog, spec
from aae.core.checkpoints import WEIGHTS, load_checkpoint, save_checkpoint
from aae.core.metrics.evaluate import METRICS
from aae.core.models import CATALOG, config_from_dict
from aae.core.training import Trainer, create_model, every_phase

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# The largest change of an output (per unit of its scale) that storing the weights so may make. Measured on the
# testers' models: at most 0.012 (int8, the StyleGAN's images) and 0.0007 (float16).
TOLERANCE = {"int8": 0.04, "float16": 0.005}


def kinds_with(**capabilities: bool) -> list[pytest.param]:
    """The tester configurations of the kinds with these capabilities (CatalogEntry.capabilities names)."""
    return [pytest.param(TESTERS[kind], id=kind) for kind in catalog.kinds(**capabilities) if kind in TESTERS]


def resolved(tester: ModelTester) -> spec.RunSpec:
    return spec.resolve({"model": tester.kind, **tester.overrides})


@dataclasses.dataclass
class Stepped:
    """A tester's model after one training step through the engine, and what it was before."""

    model: torch.nn.Module
    trainer: Trainer
    before: dict[str, torch.Tensor]  # parameter name -> its value before the step
    logs: dict[str, float]


@pytest.fixture(scope="module")
def stepped(small_splits):
    """tester -> Stepped, each kind trained once per module (the step is what every later test reads)."""
    done: dict[str, Stepped] = {}

    def step(tester: ModelTester) -> Stepped:
        if tester.kind not in done:
            run = resolved(tester)
            config = dataclasses.replace(run.train, epochs=1, batch_size=tester.batch_size, device="cpu",
                                         precision="fp32", sample_every=0, n_preview=10, progress_images=0,
                                         validation_images=0)
            model = create_model(tester.kind, run.model, seed=0)
            trainer = Trainer(model, small_splits, config)
            before = {name: p.detach().clone() for name, p in model.named_parameters()}
            steps = trainer.steps()
            assert next(steps) == 1
            steps.close()
            done[tester.kind] = Stepped(model.eval(), trainer, before, trainer.last_logs)
        return done[tester.kind]

    return step


def fixed_inputs(splits, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Validation images (never trained on) and their labels."""
    return splits.val_x[:n], splits.val_y[:n]


@torch.no_grad()
def outputs(model, x: torch.Tensor, codes: torch.Tensor | None) -> torch.Tensor:
    """What a model gives for fixed inputs, by capability: both translations of x; or the decoding of fixed
    `codes` (and where it encodes, the codes of x); or, for a model that neither generates nor translates
    (a classifier), its logits of x."""
    if model.translates:
        return torch.cat([model.translate(x, "ab"), model.translate(x, "ba")]).flatten(1)
    if model.generates:
        labels = torch.arange(len(codes)) % model.n_content if model.conditional else None
        parts = [model.decode(codes, labels).flatten(1)]
        if model.has_encoder:
            parts.append(model.encode(x))
        return torch.cat(parts, dim=1)
    return model(x)


@torch.no_grad()
def moved_away(model):
    """A copy of `model` with every weight moved off its start: a weight that a checkpoint failed to keep would
    come back as its start, which for some is fixed (the 2-D map's heads start on a circle) and so would go
    unseen after one small training step."""
    model = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(7)
    for p in model.parameters():
        p.add_(0.1 * (p.abs().mean() + 0.01) * torch.randn(p.shape, generator=gen))
    return model


def fixed_codes(model, n: int = 8) -> torch.Tensor | None:
    return model.sample_latent(n, generator=torch.Generator().manual_seed(0)) if model.generates else None


# -- the configurations --------------------------------------------------------------------------------------
def test_every_catalogue_kind_has_one_tester_configuration_and_each_names_a_kind():
    assert set(TESTERS) == set(CATALOG), "add the kind's tiny configuration to tests/model_testers.py"
    assert all(kind == tester.kind for kind, tester in TESTERS.items())


@pytest.mark.parametrize("tester", kinds_with())
def test_the_config_resolves_with_its_overrides_and_builds_from_the_seed_alone(tester):
    run = resolved(tester)
    entry = catalog.entry(tester.kind)
    assert run.kind == tester.kind and type(run.model) is entry.config
    for name, value in tester.overrides.items():
        assert getattr(run.model, name) == value, name
    assert spec.resolve(run.values()) == run  # what a card or a recipe stores resolves to the same run
    assert config_from_dict(tester.kind, dataclasses.asdict(run.model)) == run.model

    model = create_model(tester.kind, run.model, seed=0)
    assert isinstance(model, entry.model) and model.kind == tester.kind and model.config == run.model
    again, other = (create_model(tester.kind, run.model, seed=s).state_dict() for s in (0, 1))
    assert all(torch.equal(v, again[k]) for k, v in model.state_dict().items())
    assert any(v.is_floating_point() and not torch.equal(v, other[k]) for k, v in model.state_dict().items())
    # every trainable parameter is some phase's: one left out would never learn
    owned = {id(p) for phase in model.phases(1e-3) for p in phase.parameters}
    assert [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in owned] == []


@pytest.mark.parametrize("tester", kinds_with())
def test_the_command_line_resolves_the_kind(tester, capsys):
    assert main(["train", "--model", tester.kind, "--dry-run"]) == 0
    assert f'model = "{tester.kind}"' in capsys.readouterr().out


@pytest.mark.parametrize("tester", kinds_with())
def test_the_catalogues_metrics_for_the_kind_are_ones_aae_eval_knows(tester):
    metrics = catalog.entry(tester.kind).metrics
    assert metrics and len(set(metrics)) == len(metrics)
    assert set(metrics) <= set(METRICS), set(metrics) - set(METRICS)


# -- training ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tester", kinds_with())
def test_one_engine_step_moves_every_phase_and_its_losses_are_finite(tester, stepped):
    run = stepped(tester)
    assert run.logs and all(math.isfinite(v) for v in run.logs.values()), run.logs
    params = dict(run.model.named_parameters())
    names = {id(p): n for n, p in params.items()}
    for phase in every_phase(run.trainer.phases):
        moved = [names[id(p)] for p in phase.parameters if not torch.equal(p.detach(), run.before[names[id(p)]])]
        assert moved, f"the {phase.name} step changed none of its parameters"
    assert all(torch.isfinite(p).all() for p in params.values())


@pytest.mark.parametrize("tester", kinds_with())
def test_each_phase_loss_is_finite_and_reaches_only_its_own_parameters(tester, stepped, small_splits):
    """The engine steps each phase's optimiser on that phase's parameters alone: a loss whose gradient leaked
    into another phase's networks (a discriminator not held fixed in the generator's loss) would go unseen
    there and move nothing it should not, yet train the wrong thing."""
    model = copy.deepcopy(stepped(tester).model).train()  # prepared for training (a labelled subset, domain B)
    x, y = small_splits.train_x[:tester.batch_size], small_splits.train_y[:tester.batch_size]
    names = {id(p): n for n, p in model.named_parameters()}
    for phase in model.phases(1e-3):
        model.zero_grad(set_to_none=True)
        out = model.phase_loss(phase.name, x, y)
        assert out.loss.dim() == 0 and torch.isfinite(out.loss), phase.name
        out.loss.backward()
        reached = {names[id(p)] for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        outside = reached - {names[id(p)] for p in phase.parameters}
        assert reached and not outside, f"the {phase.name} loss reached {sorted(outside)[:3]}"
    with pytest.raises(ValueError, match="unknown phase"):
        model.phase_loss("no-such-phase", x, y)


# -- checkpoints ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tester", kinds_with())
def test_a_checkpoint_gives_back_the_same_outputs_and_a_quantised_one_close_ones(tester, stepped, small_splits,
                                                                                   tmp_path):
    run = stepped(tester)
    model = moved_away(run.model)
    x, _ = fixed_inputs(small_splits)
    codes = fixed_codes(model)
    expected = outputs(model, x, codes)
    scale = max(1.0, float(expected.abs().max()))
    # the comparison can tell models apart: another seed's untrained weights give other outputs
    other = create_model(tester.kind, model.config, seed=1).eval()
    assert (outputs(other, x, codes) - expected).abs().max() > 2 * TOLERANCE["int8"] * scale

    path = save_checkpoint(tmp_path / "full", model, optimizer_state=run.trainer.optimizer_state())
    loaded = load_checkpoint(path)
    assert loaded.card["kind"] == tester.kind and type(loaded.model) is type(model)
    torch.testing.assert_close(outputs(loaded.model, x, codes), expected)
    assert set(loaded.optimizer_state) == set(run.trainer.optimizers)  # resumable: every phase's optimiser

    for dtype, tolerance in TOLERANCE.items():
        path = save_checkpoint(tmp_path / dtype, model, inference_only=True, dtype=dtype)
        small = load_checkpoint(path)
        assert small.card["weights"]["dtype"] == dtype and small.optimizer_state is None
        stored = {tensor.dtype for tensor in load_file(str(path / WEIGHTS)).values()}
        assert (torch.int8 if dtype == "int8" else torch.float16) in stored and torch.float32 not in stored
        gap = (outputs(small.model, x, codes) - expected).abs().max()
        assert gap < tolerance * scale, (dtype, float(gap))


# -- the latent API, by capability --------------------------------------------------------------------------
@pytest.mark.parametrize("tester", kinds_with(generates=True))
def test_samples_are_images_in_the_unit_range_and_follow_their_seed(tester, stepped):
    model = stepped(tester).model

    def draw(seed: int) -> torch.Tensor:
        return model.sample(6, generator=torch.Generator().manual_seed(seed))

    images = draw(0)
    assert images.shape == (6, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(draw(0), images)
    assert (draw(1) - images).abs().max() > 1e-3


@pytest.mark.parametrize("tester", kinds_with(encoder=True))
def test_encoding_then_decoding_keeps_the_shapes(tester, stepped, small_splits):
    """Codes are (B, latent_dim) without gradient, and decode(encode(x)) and reconstruct(x) are images again.
    (Whether a reconstruction resembles its image needs hundreds of steps of these tiny models: measured at
    24–72 steps, they were no closer to their own image than to another's. tests/test_training.py checks that
    training lowers the reconstruction loss.)"""
    model = stepped(tester).model
    x, y = fixed_inputs(small_splits)
    codes = model.encode(x)
    assert codes.shape == (len(x), model.latent_dim) and not codes.requires_grad and torch.isfinite(codes).all()
    labels = y % model.n_content if model.conditional else None
    for images in (model.decode(codes, labels), model.reconstruct(x, labels)):
        assert images.shape == x.shape and images.min() >= 0 and images.max() <= 1
