"""A training job watched live in Chromium: its throughput against the engine's, and the server's page reruns meanwhile.

1. The engine's figure, as `bench/throughput.py` measures it ("ours fp32"): the Train page's default model
   (the AAE at its catalogue sizes, 2 × 1000 ReLU, 8-D, batch 100) stepped from a plain script.
2. The same model trained from the app: `streamlit run serve.py` on a free local port, Debian's Chromium (Playwright)
   opens the Train page, sets the training images, epochs and a name, presses Start and watches the live
   progress (the page redraws it every second) until the run ends; the job's images/s is read off the page.
3. Meanwhile a second tab uses the *Prior & samples* page: each press of "New samples" reruns that page on the
   server; the time until the new grid shows is measured before the job starts (idle) and while it trains.

    python bench/live_job.py [--train-limit 10000] [--epochs 3] [--presses 6] [--data-dir ../shared/data]

Target: the watched job trains at ≥ 80 % of the engine's figure; page reruns stay under 1 s.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from live_fps import free_port, start_server, stop_server  # noqa: E402
from throughput import ours  # noqa: E402

from aae.core import catalog  # noqa: E402
from aae.core.data import load_dataset, resolve_data_dir  # noqa: E402
from aae.core.device import describe_device, pick_device  # noqa: E402
from aae.core.training import TrainConfig, Trainer, create_model  # noqa: E402

RATE = re.compile(r"([\d,]+) images/s")


def engine_rate(data_dir: str, train_limit: int, steps: int) -> float:
    device = pick_device("auto")
    splits = load_dataset("mnist", data_dir=data_dir, device=device, train_limit=train_limit)
    trainer = Trainer(create_model("aae", None, seed=0), splits,
                      TrainConfig(batch_size=100, lr=catalog.training_defaults("aae")["lr"], device=device.type))
    return ours(trainer, steps, 100, "fp32")


def rerun_seconds(page) -> float:
    """Press "New samples" on the Prior & samples page and wait until the grid's image changes."""
    images = page.locator('[data-testid="stImage"] img')
    sources = lambda: images.evaluate_all("els => els.map(e => e.src).join()")  # noqa: E731
    running = page.locator('[data-testid="stStatusWidget"]')
    while running.count() and running.first.is_visible():  # a rerun still in progress would swallow the press
        page.wait_for_timeout(50)
    shown = sources()
    pressed = time.perf_counter()
    page.get_by_role("button", name="New samples").click()
    while sources() == shown:
        if time.perf_counter() - pressed > 60:
            raise SystemExit("the Prior & samples page did not redraw within 60 s")
        page.wait_for_timeout(10)
    return time.perf_counter() - pressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-limit", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200, help="timed engine steps")
    parser.add_argument("--presses", type=int, default=6, help="page reruns timed idle (and at most per second "
                                                                  "while the job trains)")
    parser.add_argument("--busy-presses", type=int, default=24, help="page reruns timed while the job trains "
                                                                       "(0: the job is only watched)")
    parser.add_argument("--server-env", nargs="*", default=[], help="NAME=VALUE settings for the server (and "
                                                                    "so its workers), e.g. AAE_WORKER_THREADS=1")
    parser.add_argument("--data-dir", default=os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args()
    data_dir = str(resolve_data_dir(args.data_dir))

    engine = engine_rate(data_dir, args.train_limit, args.steps)
    print(f"device: {describe_device(pick_device('auto'))}, torch {torch.__version__}; the Train page's default "
          f"model (AAE 2 × 1000, 8-D, batch 100) on {args.train_limit:,} MNIST images")
    print(f"engine (bench/throughput.py's 'ours fp32', a plain script): {engine:,.0f} images/s")

    from playwright.sync_api import sync_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        server = start_server(data_dir, port, AAE_RUNS_DIR=runs, **dict(e.split("=", 1) for e in args.server_env))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
                url = f"http://127.0.0.1:{port}"
                other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                other.set_default_timeout(120_000)
                other.goto(f"{url}/prior_samples")
                other.get_by_role("button", name="New samples").wait_for()
                rerun_seconds(other)  # the first press warms the page's caches
                idle = [rerun_seconds(other) for _ in range(args.presses)]

                train = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
                train.set_default_timeout(300_000)
                train.goto(f"{url}/train")
                for label, value in (("Training images", args.train_limit), ("Epochs", args.epochs),
                                     ("Name", "bench-live")):
                    field = train.get_by_label(label, exact=True)
                    field.fill(str(value))
                    field.press("Enter" if label != "Name" else "Tab")
                    train.wait_for_timeout(500)
                start = train.get_by_role("button", name=re.compile("^Start training"))
                start.wait_for()
                while not start.is_enabled() or "(" not in start.inner_text():  # the estimate is measured first
                    train.wait_for_timeout(200)
                estimate = start.inner_text()
                started = time.perf_counter()
                start.click()
                readings, busy = [], []
                done = train.get_by_text("Trained bench-live", exact=False)
                while done.count() == 0:
                    if time.perf_counter() - started > 3600:
                        raise SystemExit("the job did not end within an hour")
                    text = train.locator('[data-testid="stProgress"]').all_inner_texts()
                    found = RATE.search(" ".join(text))
                    if found and not found.group(1).startswith("0"):
                        readings.append(float(found.group(1).replace(",", "")))
                    if len(busy) < args.busy_presses and readings:
                        busy.append(rerun_seconds(other))
                    if train.get_by_text("Training failed", exact=False).count():
                        raise SystemExit("the job failed: see the page")
                    train.wait_for_timeout(1000)
                wall = time.perf_counter() - started
                browser.close()
        finally:
            stop_server(server)
    if not readings:
        raise SystemExit("no throughput was shown while the job ran")
    live = readings[-1]  # the page shows the run's mean so far: the last reading covers (nearly) all of it
    print(f"the same model trained from the Train page in a worker process, watched live in Chromium: "
          f"{live:,.0f} images/s = {live / engine:.0%} of the engine ({args.epochs} epochs, {wall:.0f} s from Start "
          f"to the saved model; {len(readings)} readings, {estimate!r})")
    fmt = lambda xs: (f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s over {len(xs)}"  # noqa: E731
                      if xs else "none measured")
    print(f"Prior & samples reruns ('New samples' until the new grid shows): idle {fmt(idle)}; while the job "
          f"trains {fmt(busy)}")


if __name__ == "__main__":
    main()
