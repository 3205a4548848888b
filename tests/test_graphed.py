"""The CUDA-graph step (aae.core.graphed) as far as a CPU can check it: when a run may take it and why not, the flag
leaving every other run as it was, and GraphedStep's buffers, warm-up, capture and read-back driven through a
stand-in graph that replays a recorded Python callable."""

import copy
from dataclasses import replace

import pytest
import torch
from torch.utils._pytree import tree_flatten

from aae.core.graphed import WARMUP_STEPS, GraphedStep, set_capturable, supported
from aae.core.models import AAEConfig, VAEConfig
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig, Trainer, backward_each, create_model

CUDA = torch.device("cuda")  # a device object only: nothing here touches a GPU
AAE = AAEConfig(latent_dim=2, hidden=32, prior=PriorConfig("gaussian"))
FAST = dict(epochs=1, batch_size=50, sample_every=0, progress_images=0, validation_images=0, device="cpu")


def trainer(splits, kind="aae", model_config=AAE, **options):
    return Trainer(create_model(kind, model_config, seed=1), splits, TrainConfig(**{**FAST, **options}))


def batches(splits, n, size=50):
    return [(splits.batch("train", slice(i * size, (i + 1) * size)), splits.train_y[i * size:(i + 1) * size])
            for i in range(n)]


class ReplayingGraph:
    """A stand-in for CUDA: warm-up runs the step; capture records it and undoes its effects (a real capture
    records kernels without running them); replay runs the recorded callable again and copies its results into
    the outputs the capture returned, as a graph writes into its static outputs."""

    def __init__(self, model, optimizers, problem=None):
        self.model, self.optimizers, self.problem = model, list(optimizers), problem
        self.warmed, self.probes, self.captures, self.replays = 0, 0, 0, 0
        self.fn = self.outputs = None

    def warm_up(self, fn, *, probe):
        self.warmed += 1
        self.probes += probe
        return fn(), (self.problem if probe else None)

    def capture(self, fn):
        saved = (copy.deepcopy(self.model.state_dict()), [copy.deepcopy(o.state_dict()) for o in self.optimizers],
                 torch.get_rng_state())
        outputs = fn()
        self.model.load_state_dict(saved[0])
        for o, state in zip(self.optimizers, saved[1]):
            o.load_state_dict(state)
        torch.set_rng_state(saved[2])
        self.captures += 1
        self.fn, self.outputs = fn, outputs
        return outputs

    def replay(self):
        self.replays += 1
        for static, new in zip(tree_flatten(self.outputs)[0], tree_flatten(self.fn())[0]):
            static.copy_(new)


def graph_through(t, **kw):
    """Give trainer `t` a GraphedStep on a ReplayingGraph, as the Trainer does on a GPU."""
    fake = ReplayingGraph(t.model, t.optimizers.values(), **kw)
    t.graphed = GraphedStep(t.graphable_step, t.optimizers.values(), backend=fake)
    return fake


def run_steps(t, data, seed=5):
    torch.manual_seed(seed)
    return [{k: float(v) for k, v in t.train_step(x, y, step=i).items()} for i, (x, y) in enumerate(data)]


# -- when a run can take the graph ----------------------------------------------------------------------------

def test_reasons_name_what_keeps_a_run_off_the_graph():
    config = TrainConfig(cuda_graph=True)
    aae = create_model("aae", AAE)
    assert supported(aae, config, "cpu") == (False, "CUDA graph off: it needs a CUDA GPU and this run is on the CPU")
    ok, reason = supported(aae, config, CUDA)
    assert ok and reason.startswith("CUDA graph:") and str(WARMUP_STEPS) in reason
    assert supported(aae, config, CUDA, world_size=2)[1].endswith("averaged between steps)")
    assert supported(aae, replace(config, compile=True), CUDA) == (False, "CUDA graph off: not together with compile")
    mixture = create_model("aae", replace(AAE, prior=PriorConfig("mog10")))
    assert supported(mixture, config, CUDA) == (False, "CUDA graph off: the mog10 prior is drawn from tables on the "
                                                       "CPU")
    stylegan = create_model("stylegan", None)
    ok, reason = supported(stylegan, config, CUDA)
    assert not ok and "stylegan" in reason and "on the host" in reason
    for r in (reason, supported(aae, config, "cpu")[1]):
        assert "\n" not in r and len(r) < 140


def test_the_flag_on_a_cpu_changes_nothing_but_the_start_message(small_splits):
    events = {}
    results = {}
    for flag in (False, True):
        seen = []
        t = Trainer(create_model("vae", VAEConfig(latent_dim=2, hidden=32), seed=2), small_splits,
                    TrainConfig(**{**FAST, "validation_images": 100}, cuda_graph=flag), callback=seen.append)
        results[flag], events[flag] = t.fit(), seen
        assert t.graphed is None
    assert results[True].history == results[False].history
    for a, b in zip(results[True].model.state_dict().values(), results[False].model.state_dict().values()):
        assert torch.equal(a, b)
    assert events[False][0].message == f"CPU ({torch.get_num_threads()} threads)"
    assert events[True][0].message == events[False][0].message + "; CUDA graph off: it needs a CUDA GPU and this " \
                                                                   "run is on the CPU"
    assert TrainConfig().cuda_graph is False


def reference_step(t, x, y):
    """Trainer.train_step as it was before the graph path (one phase group after another), for comparison."""
    logs = {}
    for phase in t.phases:
        group = [phase, *phase.partners]
        names = tuple(p.name for p in phase.partners)
        for _ in range(phase.repeats):
            for member in group:
                t.optimizers[member.name].zero_grad(set_to_none=True)
            with torch.autocast(t.device.type, dtype=torch.bfloat16, enabled=t.precision == "bf16"):
                out = t.model.joint_loss(phase.name, phase.joined, x, y, names)
            losses = [out.loss, *(out.partner_losses[name] for name in names)]
            for loss in losses:
                assert torch.isfinite(loss)
            backward_each(group, losses, routed=out.routed)
            for member in group:
                t.optimizers[member.name].step()
        logs.update(out.logs)
    return {k: float(v) for k, v in logs.items()}


@pytest.mark.parametrize("regularization", ["phases", "shared"])
def test_the_ordinary_step_is_the_step_it_was(small_splits, regularization):
    data = batches(small_splits, 4)
    new, old = (trainer(small_splits, regularization=regularization) for _ in range(2))
    torch.manual_seed(5)
    expected = [reference_step(old, x, y) for x, y in data]
    assert run_steps(new, data) == expected
    assert len(expected[0]) >= 3
    for a, b in zip(new.model.state_dict().values(), old.model.state_dict().values()):
        assert torch.equal(a, b)


# -- GraphedStep through a stand-in graph ---------------------------------------------------------------------

def test_graphed_steps_warm_up_capture_once_and_replay_each_batch_into_static_buffers(small_splits):
    data = batches(small_splits, 8)
    eager, graphed = trainer(small_splits, regularization="phases"), trainer(small_splits, regularization="phases")
    fake = graph_through(graphed)
    calls = []
    step = graphed.graphed.step
    graphed.graphed.step = lambda *a: calls.append(a[0].data_ptr()) or step(*a)
    expected = run_steps(eager, data)
    torch.manual_seed(5)
    outputs = []
    for i, (x, y) in enumerate(data):
        outputs.append(graphed.train_step(x, y, step=i))
        if i >= WARMUP_STEPS:  # the graph's own tensors, overwritten by each replay
            assert all(a is b for a, b in zip(outputs[-1].values(), outputs[WARMUP_STEPS].values()))
        assert {k: float(v) for k, v in outputs[-1].items()} == expected[i], i
        assert torch.equal(graphed.graphed.static_inputs[0], x) and torch.equal(graphed.graphed.static_inputs[1], y)
    assert (fake.warmed, fake.probes, fake.captures, fake.replays) == (WARMUP_STEPS, 1, 1, len(data) - WARMUP_STEPS)
    assert graphed.graphed.calls == len(data) and graphed.graphed.active
    assert len(set(calls)) == 1 and calls[0] == graphed.graphed.static_inputs[0].data_ptr()  # one buffer throughout
    for a, b in zip(eager.model.state_dict().values(), graphed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_a_rate_step_captures_again(small_splits):
    data = batches(small_splits, 7)
    eager, graphed = trainer(small_splits, lr_steps=(1,)), trainer(small_splits, lr_steps=(1,))
    fake = graph_through(graphed)
    expected, got = [], []
    for t, out in ((eager, expected), (graphed, got)):
        torch.manual_seed(5)
        for i, (x, y) in enumerate(data):
            if i == 5:
                t.set_rates(1)  # every rate ÷ 10
            if i == 6:
                t.set_rates(1)  # the same rates again: no new capture
            out.append({k: float(v) for k, v in t.train_step(x, y, step=i).items()})
    assert got == expected
    assert fake.captures == 2 and graphed.graphed.captures == 2
    assert graphed.graphed._rates == tuple(r / 10 for r in (graphed.config.phase_lr(p) for p in graphed.phases))


def test_what_the_warm_up_finds_turns_the_graph_off_and_the_ordinary_step_goes_on(small_splits):
    data = batches(small_splits, 6)
    eager, graphed = trainer(small_splits), trainer(small_splits)
    fake = graph_through(graphed, problem="its step waits for the GPU (at priors.py:194)")
    expected = run_steps(eager, data)
    with pytest.warns(RuntimeWarning, match="waits for the GPU .*; training goes on without it"):
        assert run_steps(graphed, data) == expected
    assert graphed.graphed.reason == "CUDA graph off: its step waits for the GPU (at priors.py:194)"
    assert graphed.graph_note == graphed.graphed.reason
    assert fake.captures == 0 and fake.warmed == WARMUP_STEPS


def test_host_numbers_in_the_outputs_and_odd_batches_stay_off_the_graph():
    weight = torch.nn.Parameter(torch.ones(3))
    sgd = torch.optim.SGD([weight], lr=0.1)

    def step(x):
        sgd.zero_grad()
        loss = (weight * x).sum()
        loss.backward()
        sgd.step()
        return {"loss": loss.detach(), "host": 1.5}

    graphed = GraphedStep(step, [sgd], warmup=2, backend=ReplayingGraph(torch.nn.ParameterList([weight]), [sgd]))
    assert graphed(torch.ones(3))["host"] == 1.5 and graphed.active
    graphed(torch.ones(3))  # the probed step
    assert graphed.reason == "CUDA graph off: its step reports a number made on the host (1.5)"
    assert graphed(torch.ones(3)) is None

    clean = GraphedStep(lambda x: step(x)["loss"], [sgd], warmup=1,
                        backend=ReplayingGraph(torch.nn.ParameterList([weight]), [sgd]))
    clean(torch.ones(3))
    assert clean(torch.ones(4)) is None and clean.active  # another shape: that step the ordinary way
    before = weight.detach().clone()
    loss = clean(torch.full((3,), 2.0))  # captured (its effects undone), then replayed once
    assert float(loss) == float((before * 2).sum()) and clean.captures == 1
    assert torch.allclose(weight.detach(), before - 0.1 * 2)  # one SGD step, not two


def test_a_failed_capture_falls_back(small_splits):
    t = trainer(small_splits)
    fake = graph_through(t)
    fake.capture = lambda fn: (_ for _ in ()).throw(RuntimeError("operation not permitted when stream is capturing"))
    data = batches(small_splits, WARMUP_STEPS + 2)
    with pytest.warns(RuntimeWarning, match="the capture failed"):
        logs = run_steps(t, data)
    assert len(logs) == len(data) and all(logs)
    assert t.graphed.reason == ("CUDA graph off: the capture failed (RuntimeError: operation not permitted when "
                                "stream is capturing)")


# -- optimisers -----------------------------------------------------------------------------------------------

def test_capturable_adam_and_untouched_sgd():
    p, q = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    adam, sgd = torch.optim.Adam([p], lr=0.1, foreach=False), torch.optim.SGD([q], lr=0.1, momentum=0.9)
    sgd_groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"} for g in sgd.param_groups])
    set_capturable([adam, sgd], True)
    assert adam.param_groups[0]["capturable"] is True
    assert [{k: v for k, v in g.items() if k != "params"} for g in sgd.param_groups] == sgd_groups
    p.grad = torch.ones(2)
    # a CUDA-only setting (it takes effect), so it must be undone on a CPU
    with pytest.raises((AssertionError, RuntimeError), match="capturable=True"):
        adam.step()
    set_capturable([adam], False)
    adam.step()
    assert adam.param_groups[0]["capturable"] is False and torch.all(p < 1)


def test_a_state_saved_by_a_graphed_run_resumes_on_the_cpu(small_splits):
    first = trainer(small_splits)
    state = first.optimizer_state()
    for saved in state.values():
        for group in saved["param_groups"]:
            group["capturable"] = True  # as a graphed run on a GPU saves it
    resumed = Trainer(first.model, small_splits, TrainConfig(**FAST), optimizer_state=state)
    assert not any(g.get("capturable") for o in resumed.optimizers.values() for g in o.param_groups)
    x, y = batches(small_splits, 1)[0]
    assert all(torch.isfinite(torch.as_tensor(v)) for v in resumed.train_step(x, y).values())
