"""Start-up of `python -m aae train`: seconds from launching the process to its first training step.

    python bench/train_startup.py [--repeats 3] [--code DIR ...] [-- aae train arguments]

Each run is a fresh process whose first Trainer.train_step prints the time since launch and which heavy modules
were imported by then, then ends the process. `--code DIR` (repeatable) times the checkout in DIR instead (e.g. an
older commit unpacked with `git archive COMMIT aae | tar -x -C DIR`), interleaved with the others. Default
command: the AAE of bench/peers.py (2 × 1000, 8-D, N(0, 5²)) on 20,000 images. Target: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torchvision", "sklearn", "scipy", "umap", "plotly", "PIL", "matplotlib", "pandas", "sympy",
         "torch._dynamo", "streamlit", "tyro", "tqdm", "safetensors")
HOOK = f"""
import os, runpy, sys, time
t0 = float(os.environ["STARTUP_T0"])
import aae.core.training as training
def first_step(self, *args, **kwargs):
    heavy = [m for m in {HEAVY!r} if m in sys.modules]
    print(f"FIRST_STEP {{time.time() - t0:.3f}} {{','.join(heavy)}}", flush=True)
    os._exit(0)
training.Trainer.train_step = first_step
sys.argv = ["aae", *sys.argv[1:]]
runpy.run_module("aae", run_name="__main__")
"""
DEFAULT = ["train", "--model", "aae", "--latent-dim", "8", "--hidden", "1000", "--prior-std", "5", "--epochs", "3",
           "--train-limit", "20000", "--device", "cpu", "--quiet"]


def first_step(code: Path, command: list[str], out: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(code), "STARTUP_T0": f"{time.time():.6f}"}
    done = subprocess.run([sys.executable, "-c", HOOK, *command, "--out", out], env=env, capture_output=True,
                          text=True, cwd=code)
    line = next((s for s in done.stdout.splitlines() if s.startswith("FIRST_STEP")), None)
    if line is None:
        raise SystemExit(f"no first step from {code}:\n{done.stderr[-2000:]}")
    _, seconds, heavy = (line.split(" ", 2) + [""])[:3]
    return float(seconds), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", action="append", default=[], help="a checkout to time instead (repeatable)")
    parser.add_argument("command", nargs="*", help="aae arguments (default: bench/peers.py's AAE)")
    args = parser.parse_args()
    codes = [Path(c).resolve() for c in args.code] or [ROOT]
    command = args.command or DEFAULT
    print(f"{os.cpu_count()} logical cores; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python -m aae {' '.join(command)}")
    times: dict[Path, list[float]] = {code: [] for code in codes}
    modules: dict[Path, str] = {}
    for _ in range(args.repeats):
        for code in codes:
            seconds, heavy = first_step(code, command, f"/tmp/startup-bench-{os.getpid()}")
            times[code].append(seconds)
            modules[code] = heavy
            print(f"  {code}: {seconds:.2f} s", flush=True)
    for code, values in times.items():
        print(f"{code}: first step after min {min(values):.2f} s, median {statistics.median(values):.2f} s, max "
              f"{max(values):.2f} s; imported by then: {modules[code] or 'none of the heavy ones'}")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
