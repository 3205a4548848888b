import json

import pytest

from aae.cli import build_parser, main
from aae.recipes import RECIPES, expand_recipe, get_recipe


def test_recipes_lists_every_recipe(capsys):
    assert main(["recipes", "--names"]) == 0
    assert capsys.readouterr().out.split() == [r.name for r in RECIPES]
    assert main(["recipes"]) == 0
    listing = capsys.readouterr().out
    assert all(r.command in listing for r in RECIPES)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_every_recipe_is_a_valid_train_command(recipe):
    args = build_parser().parse_args(["train", *recipe.args, "--out", "x"])
    assert args.model and args.epochs >= 1


def test_later_flags_override_the_recipe():
    argv, recipe = expand_recipe(["train", "--recipe", "vae-2d", "--epochs", "1", "--out", "x"])
    args = build_parser().parse_args(argv)
    assert recipe.name == "vae-2d" and args.epochs == 1 and args.latent_dim == 2
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("nope")
    assert main(["train", "--recipe", "nope", "--out", "x"]) == 2


def test_a_recipe_trains_one_epoch_on_a_slice_and_its_card_names_it(tmp_path, data_dir):
    recipe = get_recipe("aae-2d-gaussian")
    out = tmp_path / "r"
    assert main(["train", "--recipe", recipe.name, "--epochs", "1", "--train-limit", "2000",
                 "--data-dir", str(data_dir), "--out", str(out), "--quiet"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["recipe"]["name"] == recipe.name and card["recipe"]["args"] == list(recipe.args)
    hidden = int(recipe.args[recipe.args.index("--hidden") + 1])
    assert card["config"]["latent_dim"] == 2 and card["config"]["hidden"] == hidden
    assert card["training"]["adversarial_lr"] == 1e-4 and card["training"]["epochs"] == 1
    assert card["dataset"]["train_images"] == 2000 and card["dataset"]["val_images"] == 10_000


def test_seed_summaries_replace_the_recipes_measured_and_keep_the_others(tmp_path):
    """scripts/summarise_seeds.py --write: runs/ is not committed, so a fresh checkout has only the newest runs;
    writing them must not drop the stored figures of the other recipes."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "summarise_seeds.py"
    spec = importlib.util.spec_from_file_location("summarise_seeds", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "seed_figures.json"
    out.write_text(json.dumps({"recipes": {"semi-100": {"test_error": {"0": 0.03}},
                                           "cluster-16": {"cluster_error": {"0": 0.25}}}}))
    runs = tmp_path / "runs"
    runs.mkdir()
    for seed, error in ((0, 0.12), (1, 0.16)):
        (runs / f"cluster-16-s{seed}.json").write_text(json.dumps({"x": {"cluster_error": error, "data": {}}}))
    script.write(runs, out)
    recipes = json.loads(out.read_text())["recipes"]
    assert recipes["cluster-16"] == {"cluster_error": {"0": 0.12, "1": 0.16}}  # replaced, seed by seed
    assert recipes["semi-100"] == {"test_error": {"0": 0.03}}  # kept
