"""The entry point in the real Streamlit runtime: home page content and navigation to every page."""

import ast
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_home_shows_device_data_models_and_links(tiny_models, data_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Latent Lab"
    text = _text(at)
    assert "Device:" in text and ("CPU" in text or "GPU" in text)
    assert "MNIST found" in text
    for name in tiny_models:  # the user's models appear as cards
        assert name in text
    assert "shipped" in text and "classifier" in text  # the shipped classifier is listed too
    # the shipped gan's recipe, on its card
    assert "GAN: a generator and an image discriminator" in text
    assert "· 100-D gaussian prior · dense generator, feature matching" in text


def test_home_says_how_to_get_data_when_it_is_missing(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("AAE_DATA_DIR" in w.value for w in at.warning)


def registered_pages() -> dict[str, tuple]:
    """app.py's PAGES, read from its source (importing app.py would run it): {section: ((file, title, icon, url))}."""
    tree = ast.parse((ROOT / "app.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PAGES")
    return ast.literal_eval(node.value)


def test_without_a_server_nothing_empties_the_caches_behind_a_page(tiny_models):
    """The idle release watches a server's connections; in the test runtime there is no server, so it must not
    start (it used to, then emptied every cache a minute later, while pages were still being run)."""
    import threading

    from ui import caches

    def watchers() -> int:
        return sum(thread.name == "aae-idle-release" for thread in threading.enumerate())

    caches.release_when_idle.clear()
    before = watchers()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Latent Lab"
    assert watchers() == before


def test_every_page_file_is_registered_under_the_url_path_links_use():
    pages = [page for section in registered_pages().values() for page in section]
    assert sorted(Path(path).name for path, *_ in pages) == sorted(p.name for p in (ROOT / "views").glob("*.py"))
    # Shared links name these paths (/prior_samples?model=…): a file may move, its URL stays.
    assert [url for *_, url in pages] == ["prior_samples", "traversal", "encode", "aae_vs_vae", "gan_vs_aae",
                                          "style_content", "clusters", "denoise", "style_space", "translate",
                                          "train", "draw_prior"]
    assert not (ROOT / "pages").exists()  # a pages/ folder would make Streamlit run its files on their own


@pytest.mark.parametrize("page", ["prior_samples", "traversal", "encode", "aae_vs_vae", "gan_vs_aae", "train",
                                  "style_content", "clusters", "denoise", "draw_prior", "style_space", "translate"])
def test_navigation_reaches_every_page(tiny_models, page, request):
    if page == "aae_vs_vae":
        request.getfixturevalue("data_dir")  # its notice is about the test digits' codes: it needs the test set
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception
    assert at.title and at.title[0].value != "Latent Lab"  # the page's own title, not the home page
    if page in ("prior_samples", "aae_vs_vae", "style_content", "clusters"):  # they answer the paper
        notice = [m.value for m in at.markdown if "What to notice" in m.value]
        assert notice and ("Fig." in notice[0] or "Table" in notice[0])


def test_download_button_offline_shows_the_clear_error(tiny_models, tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv_utils, "urlretrieve", offline, raising=False)
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.button(key="download_mnist").click().run()
    assert not at.exception
    assert any(str(tmp_path) in e.value and "could not be downloaded" in e.value for e in at.error)


def test_a_variants_card_leads_with_its_own_figure(tiny_models):
    """The shipped semi-supervised AAE's card shows its test error (from its card's metrics) first."""
    import json

    card = json.loads((ROOT / "checkpoints" / "semi-100" / "card.json").read_text())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    labels = [(m.label, m.value) for m in at.metric]
    index = labels.index(("test error ↓", f"{card['metrics']['test_error']:.1%}"))  # with its direction
    assert labels[index + 1][0] == "Parzen LL ↑"  # then the generative figures
    help_text = next(m.proto.help for m in at.metric if m.label == "test error ↓")
    assert "lower is better" in help_text


def test_home_puts_the_papers_figures_beside_ours_over_seeds(tiny_models):
    """The paper's figures beside ours like for like: the mean ± std over the recipe's seeds (from the seed
    figures), the shipped seed's own figure (from its card), and what each recipe adds to the paper's."""
    import json
    import statistics

    from aae.lab.recipes import get_recipe

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    rows = {row["recipe"]: row for row in at.table[0].value.to_dict("records")}
    figures = json.loads((ROOT / "aae" / "lab" / "seed_figures.json").read_text())["recipes"]
    for recipe, metric in [("semi-100", "test_error"), ("semi-1000", "test_error"), ("cluster-16", "cluster_error"),
                           ("aae-8d", "parzen_ll")]:
        values = list(figures[recipe][metric].values())
        assert len(values) >= 3
        mean = statistics.fmean(values)
        ours = rows[recipe]["ours: mean ± std over seeds"]
        shown = f"{100 * mean:.2f} ±" if metric.endswith("error") else f"{mean:.1f} ±"
        assert ours.startswith(shown) and ours.endswith(f"({len(values)} seeds)"), (recipe, ours)
        additions = get_recipe(recipe).additions
        assert additions and rows[recipe]["our additions to the paper's recipe"] == "; ".join(additions)
    assert rows["semi-100"]["the paper"].startswith("1.90 ± 0.10 %") and rows["semi-100"]["figure"].endswith("↓")
    card = json.loads((ROOT / "checkpoints" / "semi-100" / "card.json").read_text())
    shipped = rows["semi-100"]["ours: the shipped seed, chosen by validation"]
    assert shipped == f"{100 * card['metrics']['test_error']:.2f} % (seed {card['training']['seed']})"
    # the shipped model is one of the seeds in the mean
    assert figures["semi-100"]["test_error"][str(card["training"]["seed"])] == card["metrics"]["test_error"]
    assert rows["semi-1000"]["ours: the shipped seed, chosen by validation"] == "not shipped"


def test_home_sets_the_shipped_latent_spaces_side_by_side_by_path_length(tiny_models):
    """Every shipped MNIST generator whose card holds a path length, smoothest first, StyleGAN in Z and in W, each
    figure its card's."""
    import json

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "How smooth is each latent space" in [h.value for h in at.subheader]
    (table,) = [t for t in at.table if "PPL in z ↓" in t.value.columns]
    rows = table.value.to_dict("records")
    cards = {p.parent.name: json.loads(p.read_text()) for p in (ROOT / "checkpoints").glob("*/card.json")}
    from aae.lab.report import WHOLE_PRIOR_KINDS

    expected = {name for name, card in cards.items() if "ppl" in card.get("metrics", {})
                and card["dataset"]["name"] == "mnist" and card["kind"] in WHOLE_PRIOR_KINDS}
    assert {row["model"] for row in rows} == expected
    assert {"stylegan-mnist", "aae-8d", "vae-8d", "gan"} <= expected and "semi-100" not in expected
    assert [float(row["PPL in z ↓"]) for row in rows] == sorted(float(row["PPL in z ↓"]) for row in rows)
    style = next(row for row in rows if row["model"] == "stylegan-mnist")
    metrics = cards["stylegan-mnist"]["metrics"]
    assert (style["PPL in z ↓"], style["PPL in W ↓"]) == (f"{metrics['ppl']:.2f}", f"{metrics['ppl_w']:.2f}")
    assert "classifier" in " ".join(c.value for c in at.caption)  # says whose features measure the distance


def test_cards_with_a_history_show_its_learning_curve(tiny_models):
    from aae.core.checkpoints import read_card

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    import pyarrow as pa

    charts = at.get("vega_lite_chart")
    assert charts and all(json.loads(c.proto.spec)["mark"]["type"] == "line" for c in charts)
    tables = [pa.ipc.open_stream(c.proto.data.data).read_all().to_pylist() for c in charts]
    history = read_card(ROOT / "checkpoints" / "semi-100")["training"]["history"]
    expected = [row["val_class_err"] for row in history]
    # semi-100's card: one point per recorded epoch with its validation error, nothing invented.
    found = [[r["value"] for r in rows if r["series"] == "validation error of y"] for rows in tables]
    assert any(values == pytest.approx(expected) for values in found), found[:3]
    # cluster-16's card: its validation cluster error, epoch by epoch
    expected = [row["val_cluster_err"] for row in read_card(ROOT / "checkpoints" / "cluster-16")["training"]["history"]]
    found = [[r["value"] for r in rows if r["series"] == "validation cluster error (majority)"] for rows in tables]
    assert any(values == pytest.approx(expected) for values in found)


def test_home_cards_and_table_show_their_text_in_full(tiny_models, tmp_path, monkeypatch):
    """Each card's figures as wide as their text, the paper table's columns in full, "1 epoch" in the singular,
    and the learning curves with explicit domains (drawn in a closed expander they have no size to compute one)."""
    from aae.core.checkpoints import load_checkpoint, save_checkpoint

    one = load_checkpoint(tiny_models["tiny-vae-2d"]).model
    save_checkpoint(tmp_path / "one-epoch", one, card={"name": "one-epoch", "dataset": {"name": "mnist",
                    "train_images": 600}, "training": {"epochs": 1}})
    monkeypatch.setenv("AAE_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    text = _text(at)
    assert "trained 1 epochs" not in text
    assert "trained 1 epoch on 600 mnist images" in text
    assert at.get("table") and not at.get("arrow_data_frame")  # the paper's figures: a table, not a cut grid
    assert at.get("metric")

    def metrics_in_columns(block, parent="") -> int:
        """Metrics whose nearest layout is a column (equal columns cut their text in a narrow card)."""
        found = 0
        for child in getattr(block, "children", {}).values():
            if type(child).__name__ == "Metric":
                found += parent == "column"
            else:
                found += metrics_in_columns(child, getattr(child, "type", None) or parent)
        return found

    cards = [b for b in at.main.children.values()]
    assert sum(metrics_in_columns(b) for b in cards) == 0
    for chart in at.get("vega_lite_chart"):
        encoding = json.loads(chart.proto.spec)["encoding"]
        assert "domain" in encoding["x"]["scale"] and "domain" in encoding["y"]["scale"]


def test_no_page_compares_against_a_model_kind():
    """Pages ask what a model can do (the catalogue's capabilities), never which kind it is: a comparison with a
    kind's name (`entry.kind == "semi"`, `kind in ("aae", "vae")`) in app.py or views/ fails here."""
    from aae.core.catalog import CATALOG

    def literals(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for element in node.elts for s in literals(element)]
        return []

    offenders = []
    for path in [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                named = [s for operand in (node.left, *node.comparators) for s in literals(operand) if s in CATALOG]
                offenders += [f"{path.name}:{node.lineno}: {ast.unparse(node)}" for _ in named[:1]]
    assert not offenders, offenders


def test_no_text_the_app_shows_names_a_source_file_or_the_history_of_its_making():
    """Every string in the pages and their helpers (not docstrings): no source file, no issue or session number.
    The registry's page scripts and the command that starts the app are not shown as such."""
    import ast
    import re

    bad = re.compile(r"[\w/]+\.py\b|\bissue \d+|\bsession \d+|\bwork period")
    allowed = re.compile(r"^views/\w+\.py$|streamlit run serve\.py")
    found = []
    for path in sorted([*ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        found += [f"{path.name}:{node.lineno}: {node.value[:80]}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and bad.search(node.value) and not allowed.search(node.value)]
    assert not found, found


def test_a_drawn_page_preloads_the_digits_for_the_next_one(data_dir, monkeypatch):
    """Once a page is drawn, MNIST is read into the shared cache in the background (once until the caches are next
    emptied), so the next page that shows digits finds it there instead of reading it on its first visit."""
    from ui import caches

    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    caches.release_shared_caches()
    loads = []
    real = caches.load_dataset
    monkeypatch.setattr(caches, "load_dataset", lambda *a, **k: loads.append(a) or real(*a, **k))
    thread = caches.preload("mnist")
    assert thread is not None
    thread.join(timeout=120)
    assert caches.preload("mnist") is None  # started once
    assert caches.splits("mnist") is not None and len(loads) == 1  # the page's call found it read
    caches.release_shared_caches()
    again = caches.preload("mnist")  # emptied: the next page drawn reads it again
    assert again is not None
    again.join(timeout=120)
    assert len(loads) == 2
    caches.release_shared_caches()
