"""Adam on the CPU with PyTorch's fused kernel, without `torch.optim.Optimizer`.

The first `torch.optim` optimiser a process makes imports PyTorch's compiler stack (`torch._dynamo` and SymPy:
about a second, as long as importing torch itself), and every `step()` goes through it again; a training run that
never compiles pays that at start-up. `FusedAdam` calls the same kernel as `torch.optim.Adam(fused=True)`, so
its steps are the same to the last bit, and its `state_dict()` has `torch.optim.Adam`'s layout, so a checkpoint
resumes under either. On a GPU `make_optimizer` keeps `torch.optim.Adam`, which CUDA graphs capture.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class FusedAdam:
    """Adam (no weight decay, no AMSGrad) over one group of CPU parameters."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        params = list(params)
        if not params:
            raise ValueError("FusedAdam got no parameters")
        if any(p.device.type != "cpu" for p in params):
            raise ValueError("FusedAdam is for CPU parameters; use torch.optim.Adam on a GPU")
        # torch.optim.Adam's group keys, so its state_dict loads into either
        self.param_groups: list[dict[str, Any]] = [{
            "params": params, "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": 0.0, "amsgrad": False,
            "maximize": False, "foreach": None, "capturable": False, "differentiable": False, "fused": True,
            "decoupled_weight_decay": False}]
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    @property
    def _params(self) -> list[torch.nn.Parameter]:
        return self.param_groups[0]["params"]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        by_dtype: dict[torch.dtype, list[list[torch.Tensor]]] = {}
        for p in self._params:
            if p.grad is None:
                continue
            state = self.state.get(p)
            if state is None:  # as torch.optim.Adam makes it for the fused kernel
                state = self.state[p] = {"step": torch.zeros((), dtype=torch.float32),
                                         "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                         "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
            lists = by_dtype.setdefault(p.dtype, [[], [], [], [], []])
            for target, tensor in zip(lists, (p, p.grad, state["exp_avg"], state["exp_avg_sq"], state["step"])):
                target.append(tensor)
        beta1, beta2 = group["betas"]
        for params, grads, exp_avgs, exp_avg_sqs, steps in by_dtype.values():
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=0.0, eps=group["eps"], maximize=False)

    def state_dict(self) -> dict[str, Any]:
        """torch.optim.Adam's layout: parameters by their index in the group."""
        index = {id(p): i for i, p in enumerate(self._params)}
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()},
                "param_groups": [{**group, "params": list(range(len(self._params)))}]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by this class or by torch.optim.Adam with one group of the same parameters."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self._params):
            raise ValueError("the saved optimiser state does not match this optimiser's parameters")
        saved = groups[0]
        for key in ("lr", "betas", "eps"):
            self.param_groups[0][key] = tuple(saved[key]) if key == "betas" else saved[key]
        position = {index: i for i, index in enumerate(saved["params"])}
        self.state = {}
        for index, state in state_dict["state"].items():
            p = self._params[position[int(index)]]
            self.state[p] = {"step": torch.as_tensor(state["step"], dtype=torch.float32).clone(),
                             "exp_avg": state["exp_avg"].to(p.dtype).clone(),
                             "exp_avg_sq": state["exp_avg_sq"].to(p.dtype).clone()}
