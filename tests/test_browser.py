"""End to end: `streamlit run serve.py` on a local port, driven by Debian's Chromium through Playwright.

Opens the home page and every page (no error box, no traceback), moves a traversal slider and
checks the decoded image changes, uploads a digit file and checks it is encoded. Screenshots go to
test-artifacts/screenshots/ (the README's come from there).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"
SERVER_LOG = ROOT / "test-artifacts" / "streamlit-server.log"
PAGES = ["Prior & samples", "Latent traversal", "Encode a digit", "AAE vs VAE", "GAN vs AAE", "Style & content",
         "Clusters", "Denoise", "Style space", "Translate", "Train", "Draw a prior"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(data_dir, runs_dir):
    """`streamlit run serve.py` on a free port, as a user starts it; yields its URL, stops it after."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run should have installed Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    port = _free_port()
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "AAE_RUNS_DIR": str(runs_dir)}
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    log = SERVER_LOG.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"streamlit did not start: {SERVER_LOG.read_text()[-2000:]}")
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def app_url(data_dir, tiny_models):
    with _server(data_dir, Path(tiny_models["tiny-gan"]).parent) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)
        tab.on("request", lambda request: REQUESTED_HOSTS.append(urllib.parse.urlsplit(request.url).hostname))
        yield tab
        browser.close()


REQUESTED_HOSTS: list[str | None] = []  # the host of every request the browser made, for the check below
OWN_HOSTS = {"127.0.0.1", "localhost", None}  # None: data: and blob: URLs


@pytest.fixture(autouse=True)
def nothing_is_fetched_from_elsewhere():
    """The app works offline: every request goes to the app's own server (no font host, no CDN)."""
    REQUESTED_HOSTS.clear()
    yield
    outside = sorted({host for host in REQUESTED_HOSTS if host not in OWN_HOSTS})
    assert not outside, f"the page fetched from hosts other than the app's own: {outside}"


def _settle(page, timeout: float = 120) -> None:
    """Wait until Streamlit has run the script to the end: the app's script state reads notRunning twice
    in a row (after a change) and no spinner is left. The state also reads notRunning before a rerun has
    begun, so callers first wait for what their action must show (`_wait_until`), then settle."""
    page.wait_for_timeout(500)
    state = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.locator(state).count() and page.locator('[data-testid="stSpinner"]').count() == 0:
            page.wait_for_timeout(700)
            if page.locator(state).count() and page.locator('[data-testid="stSpinner"]').count() == 0:
                return
        page.wait_for_timeout(300)
    # Say what the page was doing, so a failure on a slow machine can be read from the CI log.
    script_state = page.locator('[data-testid="stApp"]').first.get_attribute("data-test-script-state")
    spinners = page.locator('[data-testid="stSpinner"]').all_inner_texts()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "settle_timeout.png"), full_page=True)
    server_log = SERVER_LOG.read_text(errors="replace")[-3000:] if SERVER_LOG.exists() else "(no log)"
    raise AssertionError(f"the app did not finish running its script in {timeout:.0f} s: url {page.url}, "
                         f"script state {script_state!r}, spinners {spinners}; server log tail:\n{server_log}")


def _wait_until(page, condition, what: str, timeout: float = 120) -> None:
    """Poll `condition()` until it holds; fail saying `what` did not happen (slow CI machines included)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        page.wait_for_timeout(300)
    raise AssertionError(f"{what} (waited {timeout:.0f} s)")


def _heading(page, title: str):
    return page.get_by_role("heading", name=title, exact=True)


def _open_home(page, app_url: str) -> None:
    """Load the app afresh (a new session) and wait until the home page has been drawn."""
    page.goto(app_url)
    _wait_until(page, lambda: _heading(page, "Latent Lab").count() > 0, "the home page did not appear")
    try:
        _settle(page, timeout=90)
    except AssertionError as error:
        # Once (CI, 2026-11-22) a fresh load of the home page never finished on a loaded 2-core machine.
        # Reload once, as a user would, and keep what was seen as a warning in the test report.
        warnings.warn(f"home page did not settle; reloading once. {error}", stacklevel=1)
        page.reload()
        _wait_until(page, lambda: _heading(page, "Latent Lab").count() > 0, "the home page did not appear")
        _settle(page)


def _assert_no_errors(page, where: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()[:500]}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def _goto(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    _wait_until(page, lambda: _heading(page, title).count() > 0, f"the page {title!r} did not appear")
    _settle(page)


def _shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _image_sources(page) -> list[str]:
    return page.locator('[data-testid="stImage"] img').evaluate_all("els => els.map(e => e.src)")


def test_home_and_every_page_open_without_errors(page, app_url):
    _open_home(page, app_url)
    assert page.get_by_text("Device:").count() >= 1
    _assert_no_errors(page, "home")
    _shot(page, "home")
    for title in PAGES:
        _goto(page, title)
        _assert_no_errors(page, title)
        shot = _shot(page, title.lower().replace(" & ", "_").replace(" ", "_"))
        assert np.asarray(Image.open(shot).convert("L")).std() > 5, f"{title}: the screenshot is blank"


def test_style_space_draws_its_z_and_w_images_at_one_size(page, app_url):
    """The same walk in Z and in W, side by side: the two images as wide as each other on the screen."""
    _open_home(page, app_url)
    _goto(page, "Style space")
    widths = page.locator('[data-testid="stImage"]').filter(has_text="t = ").locator("img").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)")
    assert len(widths) == 2 and widths[0] > 100 and abs(widths[0] - widths[1]) < 1, widths


def test_letting_go_of_a_live_slider_moves_the_sweep_and_the_link(page, app_url):
    """One set of z sliders, the live ones: a drag redraws the digit in the browser, the address follows, and
    letting go sends the code to the page, whose sweep then changes."""
    _open_home(page, app_url)
    _goto(page, "Latent traversal")
    frame = _live_frame(page)
    assert page.locator('[data-testid="stSlider"]').filter(has_text="z1").count() == 0  # no second set
    before = _image_sources(page)
    box = frame.locator("#z1").bounding_box()  # z2: the sweep runs along z1 through the code's z2
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    z2 = float(f'{frame.evaluate("window.latentLab.z[1]"):.4g}')
    _wait_until(page, lambda: f"z2={z2:g}" in page.url, f"the address did not follow the drag: {page.url}")
    _wait_until(page, lambda: _image_sources(page) not in ([], before), "letting go did not move the sweep")
    _settle(page)
    _assert_no_errors(page, "traversal after a live move")


def test_a_traversal_link_sets_the_live_sliders(page, app_url):
    page.goto(f"{app_url}/traversal?model=vae-2d&start=test+digit&digit=5&z1=-2&z2=2")
    _wait_until(page, lambda: _heading(page, "Latent traversal").count() > 0, "the link did not open")
    _settle(page)
    frame = _live_frame(page)
    assert frame.evaluate("window.latentLab.z") == [-2, 2]
    assert [frame.locator(f"#z{i}").input_value() for i in range(2)] == ["-2", "2"]
    assert page.get_by_label("Test digit (index)").input_value() == "5"
    _shot(page, "latent_traversal_link")


def _live_frame(page):
    """The traversal page's live decoder (an iframe): its Frame once the digit has been drawn."""
    _wait_until(page, lambda: page.locator("iframe").count() > 0, "the live decoder did not appear")
    frame = page.locator("iframe").first.element_handle().content_frame()
    _wait_until(page, lambda: frame.evaluate("window.latentLab && window.latentLab.frames > 0") is True,
                "the live decoder drew nothing")
    return frame


def _digit_pixels(frame) -> list[int]:
    return frame.evaluate("""() => Array.from(document.getElementById("digit").getContext("2d")
                                   .getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))""")


def test_the_live_decoder_follows_a_drag_and_the_pointer_on_the_map(page, app_url):
    """No page rerun: dragging a live slider or moving over the 2-D map redraws the digit in the browser."""
    _open_home(page, app_url)
    _goto(page, "Latent traversal")
    frame = _live_frame(page)
    before, frames = _digit_pixels(frame), frame.evaluate("window.latentLab.frames")
    box = frame.locator("#z0").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2, steps=10)
    page.mouse.up()
    _wait_until(page, lambda: _digit_pixels(frame) != before, "dragging a live slider did not redraw the digit")
    assert frame.evaluate("window.latentLab.frames") > frames
    mapped = frame.locator("#map")
    assert mapped.count() == 1, "a 2-D model's live view has a map of test codes"
    area = mapped.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.2, area["y"] + area["height"] * 0.2)
    left_top = _digit_pixels(frame)
    page.mouse.move(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.8, steps=5)
    _wait_until(page, lambda: _digit_pixels(frame) != left_top, "moving over the map did not decode there")
    page.wait_for_timeout(300)  # the last move's frame
    z = frame.evaluate("window.latentLab.z")
    assert z[0] > 0 > z[1]  # lower right of the map: positive z1, negative z2
    _shot(page, "latent_traversal_live")


def _click_map_until(page, text: str, spots=((0.5, 0.5), (0.45, 0.55), (0.55, 0.45), (0.5, 0.4), (0.4, 0.5),
                                              (0.6, 0.6))) -> None:
    """Click the first Plotly map at a few places until `text` appears (a click must land on a point)."""
    area = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first
    area.scroll_into_view_if_needed()  # the map may be below the fold (the Encode page's is)
    page.wait_for_timeout(300)
    box = area.bounding_box()
    caption = page.get_by_text(text, exact=False)
    for fx, fy in spots:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:
            _wait_until(page, lambda: caption.count() > 0, "no decode", timeout=15)
            break
        except AssertionError:
            continue
    if caption.count() == 0:
        page.screenshot(path=str(SHOTS / "click_failed.png"), full_page=True)
    assert caption.count() > 0, f"clicking the map never showed {text!r}"
    _settle(page)


def test_clicking_a_point_on_the_prior_map_decodes_it(page, app_url):
    _open_home(page, app_url)
    _goto(page, "Prior & samples")
    _click_map_until(page, "decoded at the clicked point")  # the middle of N(0, I) is dense with points
    _assert_no_errors(page, "prior map click")


def test_the_sample_grid_and_the_manifold_download_as_the_images_shown(page, app_url, tmp_path):
    """The PNGs are made when a download button is clicked (not on every run of the page: 0.7 s of its first
    visit): each arrives whole, at the size of what the page shows."""
    from PIL import Image

    _open_home(page, app_url)
    _goto(page, "Prior & samples")
    for label in ("Download the grid (PNG)", "Download the manifold (PNG)"):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        image = Image.open(path)
        assert image.format == "PNG" and image.mode == "L", label
        width, height = image.size
        assert width == height and width >= 10 * 28, (label, image.size)  # a square of at least 10 × 10 digits
        assert 0 < np.asarray(image).mean() < 255, f"{label}: a blank image"
    _assert_no_errors(page, "downloads")


def test_clicking_a_test_digit_on_the_aae_vs_vae_map_decodes_it(page, app_url):
    _open_home(page, app_url)
    _goto(page, "AAE vs VAE")
    _click_map_until(page, "decoded from its code")
    _assert_no_errors(page, "AAE vs VAE map click")


def test_a_url_with_parameters_opens_the_page_in_that_state(page, data_dir, tiny_models):
    # On a server nobody has visited yet: Streamlit runs a folder named pages/ beside the entry script on its own
    # (its file names as the sidebar, app.py not run) until a run of app.py has called st.navigation; the pages
    # live in views/ so that such a link opens through app.py from the first visit.
    with _server(data_dir, Path(tiny_models["tiny-gan"]).parent) as fresh_url:
        page.goto(f"{fresh_url}/prior_samples?model=vae-2d&seed=7&n=50")
        _wait_until(page, lambda: _heading(page, "Prior & samples").count() > 0, "the shared link did not open")
        _settle(page)
        _assert_no_errors(page, "shared link")
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Explore" in navigation and "Latent traversal" in navigation, navigation  # the app's own sections
        assert "prior samples" not in navigation  # not the pages folder's file names
        assert "vae-2d · VAE" in page.locator('[data-testid="stSidebar"]').inner_html()  # the picker's choice
        seed = page.get_by_label("Seed").first
        assert seed.input_value() == "7"
        assert "seed=7" in page.url and "model=vae-2d" in page.url


def _hover_box(page) -> dict | None:
    return page.evaluate("""() => {
        const box = document.getElementById('latent-lab-hover');
        if (!box || box.style.display === 'none' || !box.dataset.index) return null;
        const canvas = box.querySelector('canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) ink++;
        return {index: Number(box.dataset.index), caption: box.textContent, ink: ink, pixels: pixels.length / 4};
    }""")


def test_hovering_a_test_digit_on_a_map_shows_its_image(page, app_url, data_dir):
    _open_home(page, app_url)
    _goto(page, "AAE vs VAE")
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    found = None
    for fx in np.linspace(0.3, 0.7, 15):  # across the middle of the map, where the codes are dense
        for fy in (0.5, 0.45, 0.55):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(120)
            found = _hover_box(page)
            if found:
                break
        if found:
            break
    assert found, "no test digit's image appeared while the pointer crossed the map"
    # The image is the test digit the hover names: compare it with the test set's own image.
    from aae.core.data import load_split

    images, labels = load_split("mnist", train=False, data_dir=data_dir)
    index = found["index"]
    assert f"test #{index}" in found["caption"] and str(int(labels[index])) in found["caption"]
    expected = int((images[index] > 128).sum()) * 9  # shown at 3 × 3 pixels per digit pixel
    assert abs(found["ink"] - expected) <= 0.05 * expected, (found, expected)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "aae_vs_vae_hover.png"))  # the view, with the image beside the pointer
    page.mouse.move(5, 5)  # off the map: the image goes away
    _wait_until(page, lambda: _hover_box(page) is None, "the hover image stayed after the pointer left the map",
                timeout=10)


def _scan_of_test_digit(data_dir: Path, folder: Path, index: int = 0) -> Path:
    """MNIST test digit `index` as a scan: dark ink on light paper, enlarged, saved as a PNG file."""
    raw = (data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes()
    digit = np.frombuffer(raw, dtype=np.uint8, offset=16 + 784 * index)[:784].reshape(28, 28)
    scan = Image.fromarray(255 - digit).resize((280, 280), Image.LANCZOS)  # dark ink on white paper
    paper = Image.new("L", (400, 360), 235)
    paper.paste(scan, (70, 30))
    file = folder / f"digit_{index}.png"
    paper.save(file)
    return file


def test_style_from_an_upload_and_denoise_level(page, app_url, data_dir, tmp_path):
    _open_home(page, app_url)
    _goto(page, "Style & content")
    page.get_by_text("an upload", exact=True).click()
    _wait_until(page, lambda: page.locator('input[type="file"]').count() > 0, "no file uploader for a style")
    _settle(page)
    page.locator('input[type="file"]').first.set_input_files(str(_scan_of_test_digit(data_dir, tmp_path, 1)))
    caption = page.get_by_text("First column: the digit each style was taken from", exact=False)
    _wait_until(page, lambda: caption.count() == 1, "the uploaded style was not written as ten digits")
    _settle(page)
    _assert_no_errors(page, "style after upload")
    _shot(page, "style_upload")

    _goto(page, "Denoise")
    before = _image_sources(page)
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    _wait_until(page, lambda: _image_sources(page) not in ([], before),
                "changing the corruption level did not change the images")
    _settle(page)
    _assert_no_errors(page, "denoise after slider")


def test_uploading_a_digit_encodes_it(page, app_url, data_dir, tmp_path):
    file = _scan_of_test_digit(data_dir, tmp_path)

    _open_home(page, app_url)
    _goto(page, "Encode a digit")
    page.locator('input[type="file"]').first.set_input_files(str(file))
    _wait_until(page, lambda: page.get_by_text("Reconstruction", exact=False).count() > 0,
                "the uploaded digit was not reconstructed")
    _settle(page)
    _assert_no_errors(page, "encode after upload")
    # The conversion steps, left to right, in one row of one height: a tall crop is not drawn taller than the rest.
    steps = page.locator('[data-testid="stImage"] img').all()[:5]
    heights = [step.bounding_box()["height"] for step in steps]
    assert len(heights) == 5 and max(heights) - min(heights) <= 1, heights
    _shot(page, "encode_upload")
    _click_map_until(page, "decoded from its code")  # a test digit on the map, beside what its code decodes to
    _assert_no_errors(page, "encode map click")
    assert len(_image_sources(page)) >= 3  # conversion steps, input and reconstruction at least

    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    page.locator('input[type="file"]').first.set_input_files(str(bad))
    # the upload's rerun may not have begun when the page first reads as settled: wait for its answer
    errors = page.locator('[data-testid="stAlertContentError"]')
    _wait_until(page, lambda: errors.count() >= 1, "no error shown for a file that is not an image", timeout=60)
    _settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def _toolbar_of_canvas(page):
    """Point at the drawing canvas and return its toolbar's box once it has slid into place above the canvas."""
    canvas = page.locator("canvas.upper-canvas").first
    _wait_until(page, lambda: canvas.count() > 0 and canvas.bounding_box() is not None, "no drawing canvas")
    _settle(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    toolbar = page.locator(".dc-toolbar").first
    _wait_until(page, lambda: toolbar.evaluate("e => getComputedStyle(e).opacity") == "1", "no toolbar on hover")
    page.wait_for_timeout(500)  # its slide upwards
    return page.locator(".dc-toolbar-card").first.bounding_box()


def test_the_canvas_toolbar_covers_nothing_above_the_canvas(page, app_url):
    _open_home(page, app_url)
    _goto(page, "Encode a digit")
    page.get_by_role("tab", name="Draw").click()
    toolbar = _toolbar_of_canvas(page)
    tabs = page.get_by_role("tablist").first.bounding_box()
    assert toolbar["y"] >= tabs["y"] + tabs["height"], (toolbar, tabs)  # the "Test digit" tab stays clickable
    _goto(page, "Draw a prior")
    page.get_by_text("a drawing", exact=True).click()
    toolbar = _toolbar_of_canvas(page)
    for widget in ('[data-testid="stMain"] [data-testid="stSlider"]',  # the brush
                   '[data-testid="stMain"] [data-testid="stSelectbox"]'):  # the ink
        box = page.locator(widget).first.bounding_box()
        assert toolbar["y"] >= box["y"] + box["height"], (widget, toolbar, box)


def _slider_to_start(page, label: str) -> None:
    """A select slider to its first option, from the keyboard (as a user without a mouse would)."""
    thumb = page.get_by_label(label).get_by_role("slider") if page.get_by_label(label).count() else None
    thumb = thumb if thumb is not None and thumb.count() else page.get_by_role("slider", name=label)
    thumb.first.focus()
    thumb.first.press("Home")


def test_drawing_a_prior_with_the_mouse_trains_an_aae_against_it(page, app_url):
    _open_home(page, app_url)
    _goto(page, "Draw a prior")
    page.get_by_text("a drawing", exact=True).click()
    canvas = page.locator("canvas.upper-canvas").first  # the drawing layer of the canvas component
    _wait_until(page, lambda: canvas.count() > 0 and canvas.bounding_box() is not None, "no drawing canvas")
    _settle(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    centre_x, centre_y = box["x"] + 140, box["y"] + 140
    page.mouse.move(centre_x + 90, centre_y)
    page.mouse.down()
    for i in range(1, 49):  # a ring, stroke by stroke, with the mouse
        angle = 2 * np.pi * i / 48
        page.mouse.move(centre_x + 90 * np.cos(angle), centre_y + 90 * np.sin(angle), steps=2)
    page.mouse.up()
    _wait_until(page, lambda: page.get_by_text("Your prior p(z)").count() > 0, "the drawing did not become a prior")
    _settle(page)
    _assert_no_errors(page, "draw a prior, drawn")
    _slider_to_start(page, "Training images")  # 2,000 images
    _slider_to_start(page, "Hidden units")  # 64 units
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Train against this prior").click()
    _wait_until(page, lambda: page.get_by_text("MMD² of the codes to the prior").count() > 0,
                "no frame of the codes appeared", timeout=180)
    _wait_until(page, lambda: page.get_by_text("Download the AAE's run as a GIF").count() > 0,
                "the runs did not finish", timeout=300)
    _settle(page)
    _assert_no_errors(page, "draw a prior, trained")
    assert page.get_by_text("Saved ").count() >= 1
    page.get_by_text("How far q(z) is from p(z)").first.scroll_into_view_if_needed()
    _shot(page, "draw_prior")
