import json

import pytest

from aae.cli import main, parse_train
from aae.core import spec
from aae.lab.recipes import FOLDER, all_recipes, get_recipe

RECIPES = all_recipes()


def test_recipes_lists_every_recipe_file(capsys):
    assert main(["recipes", "--names"]) == 0
    assert sorted(capsys.readouterr().out.split()) == sorted(p.stem for p in FOLDER.glob("*.toml"))
    assert main(["recipes"]) == 0
    listing = capsys.readouterr().out
    assert all(r.command in listing for r in RECIPES)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_every_recipe_resolves_to_a_run_and_pins_what_it_trained_with(recipe):
    run = spec.resolve(recipe.run)
    assert run.kind == recipe.kind
    assert run.train.precision in ("fp32", "bf16"), "a recipe pins the precision it ran in"
    assert run.train.epochs == recipe.run.get("epochs", run.train.epochs) and run.train.seed == recipe.run["seed"]
    assert recipe.summary and "\n" not in recipe.summary and recipe.results.startswith("docs/results.md#")
    # The same run, spelt as command-line flags, resolves to the same specification.
    options, again, _ = parse_train(list(recipe.args))
    assert again == run and options.out is None


def test_flags_beside_a_recipe_win_and_unknown_recipes_are_refused(capsys):
    _, run, recipe = parse_train(["--recipe", "vae-2d", "--epochs", "1", "--set", "beta=2"])
    assert recipe.name == "vae-2d" and run.train.epochs == 1 and run.model.latent_dim == 2 and run.model.beta == 2
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("nope")
    assert main(["train", "--recipe", "nope", "--out", "x"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err


def test_a_recipe_trains_one_epoch_on_a_slice_and_its_card_names_it(tmp_path, data_dir):
    recipe = get_recipe("aae-2d-gaussian")
    out = tmp_path / "r"
    assert main(["train", "--recipe", recipe.name, "--epochs", "1", "--train-limit", "2000", "--precision", "fp32",
                 "--data-dir", str(data_dir), "--out", str(out), "--quiet"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["recipe"]["name"] == recipe.name and card["recipe"]["run"] == recipe.run
    assert card["config"]["latent_dim"] == 2 and card["config"]["hidden"] == recipe.run["hidden"]
    assert card["training"]["adversarial_lr"] == recipe.run["adversarial_lr"] and card["training"]["epochs"] == 1
    assert card["dataset"]["train_images"] == 2000 and card["dataset"]["val_images"] == 10_000


def test_a_kinds_named_variants_are_recipes_of_that_kind():
    from aae.lab.recipes import recipes_for

    assert {r.name for r in recipes_for("gan")} >= {"gan", "gan-small", "gan-plain", "dcgan"}
    assert {r.name for r in recipes_for("wgan-gp")} >= {"wgan-gp-small", "wgan-gp-dcgan"}
    assert {r.name for r in recipes_for("stylegan")} >= {"stylegan-small", "stylegan-wide"}
    assert "cyclegan-fashion" in {r.name for r in recipes_for("cyclegan")}
    assert all(r.kind == "semi" for r in recipes_for("semi")) and len(recipes_for("semi")) >= 3
    small = spec.resolve(get_recipe("stylegan-small").run).model
    assert small.channels == tuple(get_recipe("stylegan-small").run["channels"])  # its networks, not the default's
    assert small.channels != spec.resolve({}, kind="stylegan").model.channels
