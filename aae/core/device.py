"""Which device a run uses and in which precision: CUDA or the CPU, fp32 or bf16 (chosen by measuring)."""

from __future__ import annotations

import os
import time
from typing import Literal

import torch

DeviceChoice = Literal["auto", "cpu", "cuda"]


def pick_device(choice: DeviceChoice | str = "auto") -> torch.device:
    """CUDA when asked for or when present under "auto", else the CPU; a clear error if CUDA is missing."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; use --device auto")
    return torch.device(choice)


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX-512 BF16 or AMX), from /proc/cpuinfo's flags."""
    try:
        flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "")
    except OSError:  # not Linux: never assume
        return False
    # oneDNN told to stop below AVX-512 BF16 (ONEDNN_MAX_CPU_ISA=AVX2, an emulation of an older CPU) emulates bf16
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    if not any(word in isa for word in ("ALL", "BF16", "AMX", "FP16", "AVX10")):
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))



def keep_freed_memory() -> bool:
    """glibc's malloc, told to keep freed memory for reuse in a training process: blocks up to 32 MB come from the
    heap and its free top is not handed back below 1 GB. A training step frees and allocates the same large
    tensors every step (a 1000 × 1000 layer's gradient is 4 MB); with glibc's defaults some went back to the
    system when freed and came back page by page on the next step, zero-filled by the kernel: 18–21 ms a step
    of the 8-D AAE against 15 ms with this setting (bf16, batch 100, 2-core Xeon, 2026-12-03). The peak is
    unchanged; what a process frees stays resident until it ends, so this is for processes that train and end
    (`aae train`, sweep trials, the app's training workers and speed measurements), never for the app's server.
    True when the setting took; False where malloc is not glibc's."""
    return set_malloc_thresholds(mmap=32 * 2**20, trim=2**30)


def set_malloc_thresholds(*, mmap: int, trim: int) -> bool:
    """glibc's malloc for this process: blocks of `mmap` bytes and more get a mapping of their own (unmapped when
    freed), and the heap's free top is handed back past `trim` bytes. True when both took; False where malloc is
    not glibc's."""
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, mmap)) and bool(mallopt(m_trim_threshold, trim))


_PRECISION_CHOICES: dict[str, str] = {}


def resolve_precision(choice: str, device: torch.device | str) -> str:
    """fp32 or bf16 for `choice` on `device`. "auto" picks bf16 only on hardware with native bf16 (a CUDA GPU
    that supports it; a CPU with AVX-512 BF16 or AMX) where timed matrix products of the models' size run at
    least 1.2× faster under bf16 autocast; the answer is measured once per device type and remembered."""
    if choice != "auto":
        return choice
    device = torch.device(device)
    if device.type in _PRECISION_CHOICES:
        return _PRECISION_CHOICES[device.type]
    native = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bf16()
    chosen = "fp32"
    if native:
        chosen = "bf16" if _bf16_speedup(device) >= 1.2 else "fp32"
    _PRECISION_CHOICES[device.type] = chosen
    return chosen


def _bf16_speedup(device: torch.device) -> float:
    """`_time_bf16_speedup` on this machine, measured once and remembered on disk: it took 1–2 s of every start
    (15 s on a loaded 2-core CPU: oneDNN builds its bf16 kernels on the first call). Kept in
    $XDG_CACHE_HOME/latent-lab/bf16_speedup.json under the device's model, thread count and torch version."""
    import json

    from aae.core.data import cache_dir

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        model = ""
        try:
            model = next((line for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
        except OSError:
            pass
        name = f"{model.partition(':')[2].strip()} ({torch.get_num_threads()} threads)"
    isa = ", ".join(f"{k}={os.environ[k]}" for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if k in os.environ)
    key = f"{device.type}: {name}, torch {torch.__version__}{', ' + isa if isa else ''}"
    path = cache_dir().parent / "bf16_speedup.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(key), float):
        return known[key]
    speedup = _time_bf16_speedup(device)
    known = {**(known if isinstance(known, dict) else {}), key: speedup}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(known, indent=1))
        os.replace(temporary, path)
    except OSError:  # unwritable: measured again next time
        pass
    return speedup


def _time_bf16_speedup(device: torch.device, size: int = 1000, batch: int = 100, repeats: int = 20) -> float:
    """Time of fp32 over bf16-autocast for a 2-layer MLP step of the paper's width (batch 100, 1000 units)."""
    layers = torch.nn.Sequential(torch.nn.Linear(784, size), torch.nn.ReLU(), torch.nn.Linear(size, size)).to(device)
    x = torch.rand(batch, 784, device=device)

    def timed(bf16: bool) -> float:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            for _ in range(3):
                layers(x).sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            for _ in range(repeats):
                layers(x).sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
        return time.perf_counter() - started

    return timed(False) / max(timed(True), 1e-9)


def precision_note(precision: str, device: torch.device | str) -> str:
    """What a person should know about running in `precision` on `device`: bf16 on a CPU without native bf16 is
    emulated, 8.7× slower than fp32 for the CycleGAN's step on an AVX2-only AMD EPYC (2026-12-03). "" otherwise."""
    if precision != "bf16" or torch.device(device).type != "cpu" or cpu_has_native_bf16():
        return ""
    return ("bf16 on a CPU without native bf16 (AVX-512 BF16 or AMX) is emulated and several times slower than "
            "fp32: --precision fp32 (or auto) trains faster here, with figures that differ a little")


def describe_device(device: torch.device | str) -> str:
    """A name for people: the GPU's model, or the CPU with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"
