"""`aae report`: the results document and the README's table are what the cards, seed figures and sweeps give."""

from aae.cli import main
from aae.lab import report


def test_the_committed_results_are_current(capsys):
    """CI's check: a card, a seed figure or a sweep changed without `aae report` fails here."""
    assert main(["report", "--check"]) == 0, capsys.readouterr().err


def test_a_stale_file_is_found_and_check_writes_nothing(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "results.md"
    stale.write_text("# Results\n\nsemi-100: 0.01 % (typed by hand)\n")
    monkeypatch.setattr(report, "RESULTS", stale)
    assert main(["report", "--check"]) == 1
    assert "stale: " in capsys.readouterr().err and "typed by hand" in stale.read_text()
    assert main(["report"]) == 0
    text = stale.read_text()
    assert "typed by hand" not in text and "## The paper's figures and ours" in text
    assert main(["report", "--check"]) == 0


def test_every_headline_row_comes_from_a_card_or_the_seed_figures():
    cards = {"semi-100": {"metrics": {"test_error": 0.0123}, "training": {"seed": 4}}}
    figures = {"recipes": {"semi-100": {"test_error": {"0": 0.02, "1": 0.03, "4": 0.0123}}}}
    (row,) = [r for r in report.headline_rows(cards, figures) if "semi-100" in r[4]]
    assert row[2] == "2.08 ± 0.89 % (3 seeds)" and row[3] == "1.23 % (seed 4)"
    assert "read-back term" in row[5]  # the recipe's additions are named beside its figures
    assert not [r for r in report.headline_rows({}, {}) if "semi-100" in r[4]]  # nothing measured, no row
