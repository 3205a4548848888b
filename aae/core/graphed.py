"""A whole training step captured as one CUDA graph (TrainConfig.cuda_graph), and when a run cannot take it.

The models here are small: on a GPU a step is hundreds of short kernels, and launching them from Python costs
more than running them. A CUDA graph records the step's kernels once and replays them with one launch. The
Trainer hands `GraphedStep` a callable that takes every phase's forward, backward and optimiser step on a batch;
`GraphedStep` then

* copies each batch into static input buffers (allocated on the first call; the graph reads those addresses),
* runs the first `warmup` steps eagerly on a side stream (real training steps: lazy initialisation, optimiser
  state), the last of them watched for host synchronisations, which a graph cannot hold,
* captures the next step with the default CUDA generator registered (torch does this), so the step's random
  draws (prior samples, reparameterisation noise, dropout) are made inside the graph, fresh on every replay and
  still seeded by the Trainer's per-epoch `torch.manual_seed`; they are not the eager run's numbers,
* replays it for every later batch and returns the static output tensors (the losses), which the next replay
  overwrites.

Rates: the captured optimiser kernels hold each rate as a constant, so a change of any param group's lr (a rate
step at `lr_steps`) is noticed before the next replay and the step is captured again, reusing the graph's memory
pool (a capture costs about one step; a run has a handful of rate steps). Tensor rates would avoid it for Adam
but SGD takes float rates only, so both re-capture.

Optimisers: Adam is made `capturable` (its step count on the GPU; the fused Adam the Trainer builds is graph-safe
either way); SGD needs no change (its momentum buffers exist after the warm-up). `set_capturable(..., False)`
undoes it for a resumed run that is not graphed.

What cannot be captured falls back to the ordinary step, never an error: `supported` names the known cases for
the "start" event's message; a step found to synchronise with the host during the warm-up probe, or whose
capture fails, turns the graph off with a reason (`GraphedStep.reason`) and the Trainer continues eagerly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils._pytree import tree_flatten

WARMUP_STEPS = 3  # eager steps before the capture (the PyTorch docs' whole-network example uses 3)

# Priors drawn entirely on the GPU. The 2-D mixtures, the swiss roll and drawn (image) priors build tables on
# the CPU and copy them over on every draw (and check labels on the host): no graph can hold that.
GRAPH_SAFE_PRIORS = ("gaussian", "uniform")

# Kinds whose step keeps state on the host, so a replay would repeat one step's choices forever.
HOST_STATE = {
    "stylegan": "its step counts on the host (an R1 penalty every few steps, the average generator's ramp)",
}


def supported(model: Any, config: Any, device: torch.device | str, world_size: int = 1) -> tuple[bool, str]:
    """(whether the Trainer can capture this run's step in a CUDA graph, one line saying so or why not)."""
    device = torch.device(device)
    if device.type != "cuda":
        return False, f"CUDA graph off: it needs a CUDA GPU and this run is on the {device.type.upper()}"
    if world_size > 1:
        return False, "CUDA graph off: not with several processes (their gradients are averaged between steps)"
    if getattr(config, "compile", False):
        return False, "CUDA graph off: not together with compile"
    kind = getattr(model, "kind", type(model).__name__)
    if kind in HOST_STATE:
        return False, f"CUDA graph off for the {kind}: {HOST_STATE[kind]}"
    prior = getattr(getattr(model, "config", None), "prior", None)
    name = getattr(prior, "name", None)
    if name is not None and name not in GRAPH_SAFE_PRIORS:
        return False, f"CUDA graph off: the {name} prior is drawn from tables on the CPU"
    return True, f"CUDA graph: each step captured after {WARMUP_STEPS} warm-up steps"


def set_capturable(optimizers: Iterable[torch.optim.Optimizer], on: bool) -> None:
    """Make every Adam among `optimizers` safe to capture in a CUDA graph (`on`: its step count kept on its
    parameters' device) or ordinary again; other optimisers are left as they are (SGD needs nothing)."""
    for optimizer in optimizers:
        if not isinstance(optimizer, torch.optim.Adam):
            continue
        for group in optimizer.param_groups:
            group["capturable"] = on
            if not on:
                continue
            for p in group["params"]:
                step = optimizer.state.get(p, {}).get("step")
                if isinstance(step, torch.Tensor) and step.device != p.device:
                    optimizer.state[p]["step"] = step.to(device=p.device, dtype=torch.float32)


class GraphBackend(Protocol):
    """Where the steps run: CUDA (`CudaGraphBackend`), or a stand-in in tests."""

    def warm_up(self, fn: Callable[[], Any], *, probe: bool) -> tuple[Any, str | None]:
        """Run `fn` eagerly (on a side stream); with `probe`, also say why it could not be captured, if so."""

    def capture(self, fn: Callable[[], Any]) -> Any:
        """Record `fn`'s work (without running it) in a new graph that replaces the last; return its outputs."""

    def replay(self) -> None:
        """Run the recorded work once."""


class CudaGraphBackend:
    """torch.cuda.CUDAGraph: warm-up on a side stream, capture, replay (the PyTorch docs' whole-network capture)."""

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.device = torch.device(device or "cuda")
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream: torch.cuda.Stream | None = None

    def warm_up(self, fn: Callable[[], Any], *, probe: bool) -> tuple[Any, str | None]:
        if self.stream is None:
            self.stream = torch.cuda.Stream(self.device)
        main = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(main)
        problem = None
        with torch.cuda.stream(self.stream):
            if not probe:
                out = fn()
            else:
                previous = torch.cuda.get_sync_debug_mode()
                torch.cuda.set_sync_debug_mode("warn")
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        out = fn()
                finally:
                    torch.cuda.set_sync_debug_mode(previous)
                synced = next((w for w in caught if "synchroniz" in str(w.message)), None)
                if synced is not None:
                    problem = f"its step waits for the GPU (at {Path(synced.filename).name}:{synced.lineno})"
        main.wait_stream(self.stream)
        for leaf in tree_flatten(out)[0]:
            if isinstance(leaf, torch.Tensor) and leaf.is_cuda:
                leaf.record_stream(main)  # made on the side stream, read on the main one
        return out, problem

    def capture(self, fn: Callable[[], Any]) -> Any:
        graph = torch.cuda.CUDAGraph()
        pool = self.graph.pool() if self.graph is not None else None  # a re-capture reuses the memory
        # thread_local: another thread's CUDA work (the app's pages) does not break this capture
        with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
            out = fn()
        self.graph = graph
        return out

    def replay(self) -> None:
        self.graph.replay()


class GraphedStep:
    """`step(*inputs)` (every phase's forward, backward and optimiser step; returns a pytree of tensors) run as one
    CUDA graph: see the module's docstring. Call it with each batch; it returns the step's outputs, or None when
    the caller must take its ordinary step instead (the graph is off, see `reason`, or the inputs changed shape).
    Outputs after the capture are the graph's static tensors, overwritten by the next call."""

    def __init__(self, step: Callable[..., Any], optimizers: Iterable[torch.optim.Optimizer], *,
                 warmup: int = WARMUP_STEPS, backend: GraphBackend | None = None) -> None:
        self.step = step
        self.optimizers = list(optimizers)
        self.warmup = warmup
        self.backend = backend if backend is not None else CudaGraphBackend()
        self.static_inputs: tuple[torch.Tensor, ...] | None = None
        self.static_outputs: Any = None
        self.calls = 0  # steps this object took (warm-up and replays)
        self.captures = 0
        self.reason: str | None = None  # why the graph was turned off, once it was
        self._rates: tuple[float, ...] | None = None  # the rates the graph holds

    @property
    def active(self) -> bool:
        return self.reason is None

    def rates(self) -> tuple[float, ...]:
        return tuple(float(group["lr"]) for o in self.optimizers for group in o.param_groups)

    def _off(self, reason: str) -> None:
        self.reason = reason.splitlines()[0][:200] if reason else "off"

    def __call__(self, *inputs: torch.Tensor) -> Any:
        if not self.active:
            return None
        if self.static_inputs is None:
            self.static_inputs = tuple(torch.empty_like(t) for t in inputs)
        elif [t.shape for t in inputs] != [s.shape for s in self.static_inputs] \
                or [t.dtype for t in inputs] != [s.dtype for s in self.static_inputs]:
            return None  # another batch shape: this one step the ordinary way
        for buffer, value in zip(self.static_inputs, inputs):
            buffer.copy_(value)
        run = lambda: self.step(*self.static_inputs)  # noqa: E731 (the graph reads the static buffers)
        if self.calls < self.warmup:
            self.calls += 1
            probe = self.calls == self.warmup
            out, problem = self.backend.warm_up(run, probe=probe)
            if problem is None and probe:
                leaves = tree_flatten(out)[0]
                loose = next((leaf for leaf in leaves if not isinstance(leaf, torch.Tensor)), None)
                if loose is not None:
                    problem = f"its step reports a number made on the host ({loose!r})"
            if problem is not None:
                self._off(f"CUDA graph off: {problem}")
            return out  # this step is done either way
        if self.static_outputs is None or self.rates() != self._rates:
            try:
                self.static_outputs = self.backend.capture(run)
            except Exception as error:  # noqa: BLE001 (whatever breaks a capture, the ordinary step goes on)
                self._off(f"CUDA graph off: the capture failed ({type(error).__name__}: {error})")
                return None
            self._rates = self.rates()
            self.captures += 1
        self.backend.replay()
        self.calls += 1
        return self.static_outputs
