"""Frames per second of live decoding on the Latent traversal page, in Chromium, while a slider is dragged.

Starts `streamlit run serve.py` on a free local port, opens the traversal page on a model in Debian's Chromium
(Playwright), drags the first live latent slider back and forth for a few seconds with the mouse and counts
the frames the page decoded and drew (window.latentLab.frames, one per redraw of the digit). For comparison it
then moves the server-side Streamlit slider a few times and times how long each new image takes to appear.

    python bench/live_fps.py [--seconds 4] [--data-dir ../shared/data] [--model dcgan]

Prints one line per measurement. Target: ≥ 30 frames per second while dragging. With `--model` a
model the browser cannot decode (the conv generator `dcgan`) measures only the server path, which for such a
model reruns just the sliders' fragment.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str, port: int, script: str = "serve.py", **extra_env: str) -> subprocess.Popen:
    """`streamlit run serve.py` (or `script`) on `port`, once it answers its health check."""
    env = {**os.environ, "AAE_DATA_DIR": data_dir, "AAE_WARM_UMAP": "0", **extra_env}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_until_healthy(server, port)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--data-dir", default=os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--model", help="a model's name (default: the page's default model)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(args.data_dir, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("link", name="Latent traversal").click()
            if args.model:
                page.goto(f"http://127.0.0.1:{port}/traversal?model={args.model}")
                page.get_by_text("decoded from the sliders").first.wait_for()
            if args.model and page.get_by_text("the browser cannot run it").count():
                print(f"{args.model}: the browser cannot decode it; only the server path is measured")
            else:
                live_fps(page, args.seconds)
            server_path(page)
            browser.close()
    finally:
        stop_server(server)


def live_fps(page, seconds: float) -> None:
    frame_element = page.locator('iframe[title="st.iframe"], iframe').first
    frame_element.wait_for()
    frame = frame_element.element_handle().content_frame()
    frame.locator("#z0").wait_for()
    box = frame.locator("#z0").bounding_box()
    y = box["y"] + box["height"] / 2
    count = lambda: frame.evaluate("window.latentLab.frames")  # noqa: E731
    before, started = count(), time.perf_counter()
    moves = 0
    while time.perf_counter() - started < seconds:
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        for i in range(40):
            page.mouse.move(box["x"] + 4 + (box["width"] - 8) * i / 39, y)
            moves += 1
        page.mouse.up()
    elapsed = time.perf_counter() - started
    frames = count() - before
    print(f"live decoding in Chromium (the page's default model): {frames} frames in {elapsed:.2f} s "
          f"while dragging = {frames / elapsed:.1f} frames/s ({moves} pointer moves, "
          f"{moves / elapsed:.0f} moves/s sent: every move that reached the page was drawn)")
    per_decode = frame.evaluate("""() => { const s = window.latentLab, t = performance.now();
        for (let i = 0; i < 200; i++) s.decode(s.z); return (performance.now() - t) / 200; }""")
    print(f"one decode in the browser: {per_decode:.2f} ms (room for {1000 / per_decode:.0f} frames/s)")


def server_path(page) -> None:
    # The server path: a Streamlit slider move reruns the page; time until the new image is shown.
    images = lambda: page.locator('[data-testid="stImage"] img').evaluate_all(  # noqa: E731
        "els => els.map(e => e.src).join()")
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    waits = []
    for _ in range(3):
        shown = images()
        slider.focus()
        moved = time.perf_counter()
        slider.press("ArrowRight")
        while images() == shown and time.perf_counter() - moved < 30:
            page.wait_for_timeout(20)
        waits.append(time.perf_counter() - moved)
    print(f"server-side slider: {', '.join(f'{w:.2f}' for w in waits)} s per move until the new image "
          f"shows ({1 / (sum(waits) / len(waits)):.1f} images/s)")


if __name__ == "__main__":
    main()


def wait_until_healthy(server: subprocess.Popen, port: int, timeout: float = 90) -> subprocess.Popen:
    """`server` once its health endpoint answers; killed, and the script stopped, if it never does."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("streamlit did not start")
