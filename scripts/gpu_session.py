"""One GPU session: train the long recipes side by side on one GPU, export them, and pack them for the way back.

The paper's MLPs are far too small to fill an H200 one at a time: a step is a few hundred tiny kernels, so one
process is held back by Python and kernel launches, not by the GPU. So every run here is its own process, all
at once (CUDA MPS when the machine has it, so their kernels share the chip), each trained for about `--minutes`
(`aae train --minutes`: the epochs that fit, with the rate step moved in proportion; the card says what ran).

On the device machine (see README, "Training on a GPU"):
    python3 scripts/gpu_session.py --data .gpu/mnist.tar.gz --out "$OUT" --minutes 6
Rehearsal on the CPU, a few seconds a run:
    .venv/bin/python scripts/gpu_session.py --data-dir ../shared/data --out /tmp/rehearsal --device cpu \
        --minutes 0.05 --train-limit 2000 --only semi-100,aae-2d-mog10
What comes back ($OUT): models-N.tar (int8 exports, each tar under 15 MB), logs.tar.gz, summary.json.
Then, here: `aae eval` each model (the cards' figures) and copy the shipped ones into checkpoints/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

# Long enough that the time budget, not the epoch count, ends each run; the rate drops tenfold at 80 % of
# the epochs that fit (as the CPU recipes do: 20 of 25).
LONG = ("--epochs", "1000", "--lr-steps", "800")

# (run name, recipe, extra flags after the recipe's; no recipe: the flags are all). A name without "-sN" is seed 0.
RUNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("semi-100", "semi-100", ()),
    ("semi-100-s1", "semi-100", ("--seed", "1")),
    ("semi-100-s2", "semi-100", ("--seed", "2")),
    ("semi-1000", "semi-1000", ()),
    ("semi-all", "semi-all", ()),
    ("cluster-16", "cluster-16", ()),
    ("cluster-16-s1", "cluster-16", ("--seed", "1")),
    ("cluster-16-s2", "cluster-16", ("--seed", "2")),
    ("cluster-16-consistency", "cluster-16", ("--consistency", "10")),
    ("cluster-30", "cluster-30", ()),
    ("aae-8d", "aae-8d", ()),
    ("aae-8d-s1", "aae-8d", ("--seed", "1")),
    ("aae-8d-s2", "aae-8d", ("--seed", "2")),
    ("vae-8d", "vae-8d", ()),
    ("aae-2d-gaussian", "aae-2d-gaussian", ()),
    ("vae-2d", "vae-2d", ()),
    ("aae-2d-mog10", "aae-2d-mog10", ()),
    ("aae-2d-swissroll", "aae-2d-swissroll", ()),
    # A second, shorter session: bigger batches (more epochs in the time; a steadier batch-balance term).
    ("cluster-16-b500", "cluster-16", ("--batch-size", "500")),
    ("cluster-16-b500-s1", "cluster-16", ("--batch-size", "500", "--seed", "1")),
    ("cluster-16-b250", "cluster-16", ("--batch-size", "250")),
    ("semi-100-b500", "semi-100", ("--batch-size", "500")),
    # Next GPU session (2026-12-01): the additions that took semi-100 from 4.4 to 2.3 % (CPU), on more labels
    # and on the clustering AAE (a 4-epoch, 10,000-image CPU screen did not show it helping there: 51 % vs 50 %;
    # the read-back term there: 46 and 52 % at weights 3 and 1, within the screen's noise), and the paper's
    # 3000-unit clustering encoder.
    ("semi-1000-s1", "semi-1000", ("--seed", "1")),  # semi-1000 is now semi-100's recipe (CPU, 2026-12-01)
    ("semi-all-aug", "semi-all", ("--augment-labelled", "--augment-degrees", "15", "--cycle", "3")),
    ("cluster-30-s1", "cluster-30", ("--seed", "1")),
    ("cluster-16-h3000", "cluster-16", ("--hidden", "3000")),
    ("aae-2d-mog10-joint", "", ("--model", "aae", "--latent-dim", "2", "--hidden", "400", "--prior", "mog10",
                                "--label-regularized", "--seed", "0")),
    ("aae-2d-swissroll-joint", "", ("--model", "aae", "--latent-dim", "2", "--hidden", "400", "--prior",
                                    "swissroll", "--label-regularized", "--seed", "0")),
)

TAR_LIMIT = 15 * 2**20  # the device tool brings back files of at most 16 MiB, 8 files, 64 MiB in all
TOTAL_LIMIT = 58 * 2**20


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def unpack(archive: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def start_mps() -> bool:
    """Start CUDA MPS so the processes' kernels run side by side; False (and MPS stopped) if it does not work."""
    if shutil.which("nvidia-cuda-mps-control") is None:
        log("no nvidia-cuda-mps-control: the GPU time-slices between processes")
        return False
    if subprocess.run(["nvidia-cuda-mps-control", "-d"], capture_output=True).returncode != 0:
        log("MPS did not start")
        return False
    check = [sys.executable, "-c", "import torch; print(float((torch.ones(4, device='cuda') * 2).sum()))"]
    try:
        ok = subprocess.run(check, capture_output=True, text=True, timeout=90).stdout.strip() == "8.0"
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        subprocess.run(["nvidia-cuda-mps-control"], input="quit\n", text=True, capture_output=True)
        log("MPS started but a CUDA process failed under it: stopped, time-slicing instead")
        return False
    log("CUDA MPS on")
    return True


def launch(name: str, recipe: str, extra: tuple[str, ...], args: argparse.Namespace, data_dir: Path,
           runs: Path, logs: Path) -> subprocess.Popen:
    named = ["--recipe", recipe] if recipe else []  # no recipe: `extra` holds all the arguments
    command = [sys.executable, "-m", "aae", "train", *named, *LONG, *extra, "--minutes", str(args.minutes),
               "--device", args.device, "--precision", "fp32", "--quiet", "--save-every", "5",
               "--data-dir", str(data_dir), "--out", str(runs / name)]
    if args.train_limit:
        command += ["--train-limit", str(args.train_limit)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    (logs / f"{name}.cmd").write_text(" ".join(command) + "\n")
    return subprocess.Popen(command, stdout=open(logs / f"{name}.log", "w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def summary_of(run: Path) -> dict:
    card_path = run / "card.json"
    if not card_path.exists():
        return {"finished": False}
    card = json.loads(card_path.read_text())
    training = card.get("training", {})
    history = training.get("history", [])
    return {"finished": True, "epochs": training.get("epochs"), "lr_steps": training.get("lr_steps"),
            "seconds": training.get("seconds"), "device": training.get("device"),
            "last_epoch": history[-1] if history else None}


def pack(exports: Path, out: Path, names: list[str]) -> list[str]:
    """First fit, in RUNS order (the shipped models first): each model folder into the first tar with room."""
    sizes = {n: sum(f.stat().st_size for f in (exports / n).rglob("*") if f.is_file()) for n in names}
    bins: list[list[str]] = []
    total = 0
    for name in names:
        if total + sizes[name] > TOTAL_LIMIT:
            continue  # its quick figures are in summary.json
        total += sizes[name]
        for group in bins:
            if sum(sizes[n] for n in group) + sizes[name] <= TAR_LIMIT:
                group.append(name)
                break
        else:
            bins.append([name])
    written = []
    for i, group in enumerate(bins[:5], 1):  # 8 files come back: 5 tars, the logs, the summary, the output
        path = out / f"models-{i}.tar"
        with tarfile.open(path, "w") as tar:
            for name in group:
                tar.add(exports / name, arcname=name)
        written.append(path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a .tar.gz holding MNIST/raw/*: unpacked to a temporary folder")
    parser.add_argument("--data-dir", type=Path, help="a data root already in torchvision's layout")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu-session"), help="runs, exports and logs")
    parser.add_argument("--minutes", type=float, default=6.0, help="training time of each run")
    parser.add_argument("--deadline", type=float, default=None,
                        help="minutes after launch at which unfinished runs are stopped (default: minutes × 1.3 + 1)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--train-limit", type=int, default=None, help="rehearsal: this many training images")
    parser.add_argument("--only", default="", help="comma-separated run names (default: all)")
    parser.add_argument("--no-mps", action="store_true")
    args = parser.parse_args(argv)
    started = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.work, ignore_errors=True)
    runs, exports, logs = args.work / "runs", args.work / "exports", args.work / "logs"
    for folder in (runs, exports, logs):
        folder.mkdir(parents=True)
    data_dir = unpack(args.data, args.work / "data") if args.data else args.data_dir
    if data_dir is None:
        parser.error("give --data or --data-dir")
    chosen = [r for r in RUNS if not args.only or r[0] in args.only.split(",")]
    if args.device == "cuda":
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True)
        (logs / "nvidia-smi.txt").write_text(smi.stdout + smi.stderr)
        mps = False if args.no_mps else start_mps()
    else:
        mps = False
    log(f"{len(chosen)} runs, about {args.minutes} min each, on {args.device}")
    procs = {name: launch(name, recipe, extra, args, data_dir, runs, logs) for name, recipe, extra in chosen}
    deadline = time.time() + 60 * (args.deadline if args.deadline is not None else args.minutes * 1.3 + 1)
    while any(p.poll() is None for p in procs.values()) and time.time() < deadline:
        time.sleep(5)
        running = [n for n, p in procs.items() if p.poll() is None]
        if int(time.time() - started) % 60 < 5:
            log(f"{len(running)} running: {', '.join(running)}")
    for name, proc in procs.items():  # past the deadline: stop; the last periodic checkpoint stays
        if proc.poll() is None:
            log(f"{name}: past the deadline, stopped (its last periodic checkpoint is kept)")
            os.killpg(proc.pid, signal.SIGINT)
    for proc in procs.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    summary = {"minutes": args.minutes, "device": args.device, "mps": mps, "runs": {}}
    exporters = {}
    for name, proc in procs.items():
        summary["runs"][name] = {"returncode": proc.returncode, **summary_of(runs / name)}
        if (runs / name / "card.json").exists():
            exporters[name] = subprocess.Popen([sys.executable, "-m", "aae", "export", str(runs / name), "--int8",
                                                "--out", str(exports / name)], stdout=subprocess.DEVNULL,
                                               stderr=open(logs / f"{name}.export.log", "w"))
    # Quick figures measured there too (no Parzen: the slow one; 2,000 samples), in case a model cannot come back.
    evals = {name: subprocess.Popen([sys.executable, "-m", "aae", "eval", str(runs / name), "--data-dir", str(data_dir),
                                     "--no-parzen", "--samples", "2000", "--json"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
             for name in exporters}
    for name, proc in evals.items():
        try:
            measured = json.loads(proc.communicate(timeout=120)[0] or "{}")
            summary["runs"][name]["eval"] = next(iter(measured.values()), None)
        except (subprocess.TimeoutExpired, json.JSONDecodeError):
            proc.kill()
    exported = [name for name, proc in exporters.items() if proc.wait() == 0]
    exported.sort(key=lambda n: ("-s" in n or n.startswith(("semi-1000", "semi-all", "cluster-16-", "cluster-30")),
                                 [r[0] for r in RUNS].index(n)))
    summary["tars"] = pack(exports, args.out, exported)
    summary["seconds"] = round(time.time() - started, 1)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    with tarfile.open(args.out / "logs.tar.gz", "w:gz") as tar:
        tar.add(logs, arcname="logs")
    for name, row in summary["runs"].items():
        last = row.get("last_epoch") or {}
        shown = {k: round(v, 4) for k, v in last.items() if k.startswith("val_") and isinstance(v, float)}
        log(f"{name}: rc {row['returncode']}, {row.get('epochs')} epochs, {row.get('seconds')} s {shown}")
    log(f"exported {len(exported)} of {len(procs)} into {summary['tars']} in {summary['seconds']} s")
    return 0 if len(exported) == len(procs) else 1


if __name__ == "__main__":
    sys.exit(main())
