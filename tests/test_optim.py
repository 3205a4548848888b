"""FusedAdam: torch.optim.Adam(fused=True)'s steps and state layout, without importing PyTorch's compiler stack."""

import os
import subprocess
import sys

import pytest
import torch

from aae.core.optim import FusedAdam


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))


def _steps(net: torch.nn.Module, optimizer, first: int, last: int) -> None:
    for i in range(first, last):
        optimizer.zero_grad(set_to_none=True)
        x = torch.randn(8, 20, generator=torch.Generator().manual_seed(i))
        net(x).pow(2).sum().backward()
        optimizer.step()


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_its_steps_are_torch_fused_adams_to_the_last_bit():
    ours, theirs = _net(), _net()
    mine = FusedAdam(ours.parameters(), lr=1e-2, betas=(0.5, 0.9))
    torch_adam = torch.optim.Adam(theirs.parameters(), lr=1e-2, betas=(0.5, 0.9), fused=True)
    _steps(ours, mine, 0, 6)
    _steps(theirs, torch_adam, 0, 6)
    assert _same(ours, theirs) and not _same(ours, _net())  # the weights moved, alike
    mine_sd, theirs_sd = mine.state_dict(), torch_adam.state_dict()
    assert mine_sd["param_groups"] == theirs_sd["param_groups"]
    assert all(torch.equal(mine_sd["state"][i][k], v) for i, s in theirs_sd["state"].items() for k, v in s.items())


@pytest.mark.parametrize("saved_by", ["ours", "torch"])
def test_a_run_resumes_from_either_optimisers_state(saved_by):
    """Three steps, save, three more under the other optimiser: the same weights as six unbroken steps."""
    unbroken = _net()
    _steps(unbroken, torch.optim.Adam(unbroken.parameters(), lr=1e-2, fused=True), 0, 6)
    net = _net()
    first = FusedAdam(net.parameters(), lr=1e-2) if saved_by == "ours" else torch.optim.Adam(
        net.parameters(), lr=1e-2, fused=True)
    _steps(net, first, 0, 3)
    second = torch.optim.Adam(net.parameters(), lr=1.0, fused=True) if saved_by == "ours" else FusedAdam(
        net.parameters(), lr=1.0)  # the saved rate must replace this one
    second.load_state_dict(first.state_dict())
    _steps(net, second, 3, 6)
    assert _same(net, unbroken)


def test_a_state_of_other_parameters_is_refused():
    small = torch.nn.Linear(2, 2)
    saved = FusedAdam(_net().parameters(), lr=1e-3).state_dict()
    with pytest.raises(ValueError, match="does not match"):
        FusedAdam(small.parameters(), lr=1e-3).load_state_dict(saved)


def test_a_training_command_never_imports_the_compiler_stack(data_dir, tmp_path):
    """torch.optim's optimisers import torch._dynamo (and SymPy) on first use: about a second of start-up that
    `aae train` on the CPU does not need."""
    code = ("import sys; from aae.cli import main; "
            f"assert main(['train', '--model', 'aae', '--epochs', '1', '--train-limit', '500', '--out', "
            f"{str(tmp_path / 'run')!r}, '--quiet']) == 0; "
            "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))")
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"


KEPT_AFTER_A_STEP = """
import ctypes, sys, torch
from aae.core.device import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()

class MallInfo(ctypes.Structure):  # glibc's struct mallinfo2 (glibc 2.33 and later)
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo.restype = MallInfo
tensors = [torch.ones(2 * 2**20) for _ in range(4)]  # a step's large tensors: 4 × 8 MB
del tensors  # the step ends
print(mallinfo().fordblks / 2**20)  # megabytes freed and kept in the heap for the next step
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc setting")
def test_a_training_process_keeps_freed_memory_instead_of_faulting_it_back_every_step():
    """`keep_freed_memory` (called by `aae train`, sweep trials and the app's workers): with glibc's defaults, a
    step's large tensors got mappings of their own, handed back to the system when freed and faulted in again page
    by page (on a 2-core Xeon the 8-D AAE's bf16 step took about 2,000 faults, a fifth of its time). Kept, a freed
    step's 32 MB stay in the heap for the next one. Read from glibc's own account (mallinfo2), in a process of its
    own each way: how many faults follow depends on the CPU's kernels and the kernel's huge pages (the real 8-D AAE
    step faulted 38 times either way on an AVX2 EPYC, 2026-12-03), the memory kept does not."""
    def kept_mb(mode: str) -> float:
        done = subprocess.run([sys.executable, "-c", KEPT_AFTER_A_STEP, mode], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr[-2000:]
        return float(done.stdout.split()[-1])

    default, kept = kept_mb("default"), kept_mb("keep")
    assert default < 8 and kept >= 32, (default, kept)
