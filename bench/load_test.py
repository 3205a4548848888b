"""A classroom on one server: N browser sessions at once open the pages, two of them train; latency and memory.

Starts `streamlit run app.py` on a free port of 127.0.0.1 (runs saved in a temporary folder), then Debian's Chromium
(Playwright) opens `--sessions` separate browser contexts — separate Streamlit sessions, as separate visitors
are — all at once. Each visits the same pages in its own order and times each page from navigation until its
heading shows and the app has stopped running. Two sessions first start a training job on the Train page (the
default AAE on `--train-limit` images, one epoch) and then browse like the others. Meanwhile the resident memory
of the server and of its worker processes is sampled twice a second.

    python bench/load_test.py [--sessions 10] [--trainers 2] [--train-limit 5000] [--data-dir DIR]

Prints p50/p95/max page latency, the peak resident memory of the server alone and with its workers, and what
each training job reported (its images/s) — bounded in time by `--timeout`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from live_fps import free_port, start_server, stop_server  # noqa: E402

PAGES = ["Prior & samples", "Latent traversal", "AAE vs VAE", "Clusters", "Style & content"]
RATE = re.compile(r"([\d,]+) images/s")


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(") ")[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class Memory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.server_peak, self.total_peak, self.done = pid, 0.0, 0.0, False

    def run(self) -> None:
        while not self.done:
            server = rss_mb(self.pid)
            total = server + sum(rss_mb(c) for c in children(self.pid))
            self.server_peak, self.total_peak = max(self.server_peak, server), max(self.total_peak, total)
            time.sleep(0.5)


async def settled(page, heading: str, timeout: float) -> None:
    await page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout * 1000)
    status = page.locator('[data-testid="stStatusWidget"]')
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not await status.count() or not await status.first.is_visible():
            await page.wait_for_timeout(300)  # not a pause between two reruns
            if not await status.count() or not await status.first.is_visible():
                return
        await page.wait_for_timeout(100)
    raise TimeoutError(f"{heading} kept running for {timeout:.0f} s")


async def visitor(browser, url: str, index: int, trains: bool, args, latencies: list, rates: dict) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(args.timeout * 1000)
    try:
        if trains:
            await page.goto(f"{url}/train")
            await settled(page, "Train", args.timeout)
            for label, value in (("Training images", args.train_limit), ("Epochs", 1), ("Name", f"load-{index}")):
                field = page.get_by_label(label, exact=True)
                await field.fill(str(value))
                await field.press("Enter" if label != "Name" else "Tab")
                await page.wait_for_timeout(300)
            start = page.get_by_role("button", name=re.compile("^Start training"))
            while not await start.is_enabled():
                await page.wait_for_timeout(200)
            await start.click()
            await page.locator('[data-testid="stProgress"]').first.wait_for()
            rates[index] = []
        else:
            await page.goto(url)
            await settled(page, "Latent Lab", args.timeout)
        order = PAGES[index % len(PAGES):] + PAGES[:index % len(PAGES)]
        nav = page.locator('[data-testid="stSidebarNav"]')
        for heading in order:  # through the sidebar, as a visitor does: the same session, its job kept
            started = time.perf_counter()
            await nav.get_by_text(heading, exact=True).click()
            await settled(page, heading, args.timeout)
            latencies.append((time.perf_counter() - started, heading, index))
        if trains:  # back to the job: the rate it shows while the others browse
            await nav.get_by_text("Train", exact=True).click()
            done = page.get_by_text(f"Trained load-{index}", exact=False)
            while not await done.count():
                text = " ".join(await page.locator('[data-testid="stProgress"]').all_inner_texts())
                found = RATE.search(text)
                if found:
                    rates[index].append(float(found.group(1).replace(",", "")))
                await page.wait_for_timeout(1000)
    finally:
        await context.close()


async def run(args) -> None:
    from playwright.async_api import async_playwright

    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        server = start_server(args.data_dir, port, AAE_RUNS_DIR=runs)
        memory = Memory(server.pid)
        memory.start()
        idle = rss_mb(server.pid)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                                  args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
                url = f"http://127.0.0.1:{port}"
                latencies: list = []
                rates: dict = {}
                started = time.perf_counter()
                await asyncio.wait_for(asyncio.gather(*[
                    visitor(browser, url, i, i < args.trainers, args, latencies, rates)
                    for i in range(args.sessions)]), timeout=args.timeout * 10)
                wall = time.perf_counter() - started
                await browser.close()
        finally:
            memory.done = True
            stop_server(server)
    times = sorted(t for t, _, _ in latencies)
    q = statistics.quantiles(times, n=20, method="inclusive")
    print(f"{args.sessions} sessions at once ({args.trainers} training), {len(times)} page loads in {wall:.0f} s: "
          f"p50 {statistics.median(times):.1f} s, p95 {q[18]:.1f} s, max {times[-1]:.1f} s")
    slowest = sorted(latencies, reverse=True)[:3]
    print("slowest: " + "; ".join(f"{h} (session {i}) {t:.1f} s" for t, h, i in slowest))
    print(f"server resident memory: {idle:.0f} MB at start, peak {memory.server_peak:.0f} MB; with its workers "
          f"peak {memory.total_peak:.0f} MB")
    for index, seen in sorted(rates.items()):
        print(f"training job of session {index}: {seen[-1]:,.0f} images/s at its last reading" if seen else
              f"training job of session {index}: finished before it was read again")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--trainers", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=5_000)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one page may take")
    parser.add_argument("--data-dir", default=os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
