"""Ship a recipe's model from an `aae seeds` run: the seed best on the validation images, exported as the recipe says,
measured by `aae eval --write`, with the run's seed figures and record.

    python scripts/ship_seed.py RECIPE RUN_DIR FIGURES_JSON [--record-only]

RUN_DIR and FIGURES_JSON are `aae seeds RECIPE --out RUN_DIR --figures FIGURES_JSON`'s. Afterwards the recipe's
seed is the shipped one, `checkpoints/RECIPE` holds it, `aae/lab/seed_figures.json` holds the run's figures,
`docs/sweeps/RECIPE-seeds/` the run's record, and `aae report` has been run. Review `git diff` and commit.
`--record-only`: the same for a recipe that is not shipped (no checkpoint is written); its seed is still the one
best on validation.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(recipe_name: str, run_dir: Path, figures_path: Path, *, ship: bool = True) -> None:
    from aae.lab.recipes import get_recipe
    from aae.lab.report import best_seed, is_seeds_record

    recipe = get_recipe(recipe_name)
    record = json.loads((run_dir / "sweep.json").read_text())
    if record["recipe"] != recipe_name or not is_seeds_record(record):
        raise SystemExit(f"{run_dir} is not an `aae seeds {recipe_name}` run of the recipe as it is")
    metric, seed = record["metric"], best_seed(record)
    for trial in sorted(record["trials"], key=lambda t: t["params"]["seed"]):
        print(f"seed {trial['params']['seed']}: {metric} {trial['figures'][metric]:.4g}")
    print(f"{'shipping' if ship else 'recording'} seed {seed}, the best on validation")

    aae = [sys.executable, "-m", "aae"]
    if ship:
        export(recipe_name, recipe, record, run_dir, seed, metric, aae)
    record_figures(recipe_name, figures_path, seed)
    dest = ROOT / "docs" / "sweeps" / f"{recipe_name}-seeds"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("sweep.json", "study.journal"):
        shutil.copy(run_dir / name, dest / name)
    subprocess.run([*aae, "report"], check=True, cwd=ROOT)


def export(recipe_name, recipe, record, run_dir: Path, seed: int, metric: str, aae: list[str]) -> None:
    from aae.core.checkpoints import update_card
    from aae.lab.sweep import trial_name

    out = ROOT / "checkpoints" / recipe_name
    if out.exists():
        shutil.rmtree(out)
    flag = {"float16": "--half", "int8": "--int8"}[recipe.ship]  # the recipe's word for it, as `aae export` takes it
    subprocess.run([*aae, "export", str(run_dir / "models" / trial_name({"seed": seed})), flag,
                    "--out", str(out)], check=True, cwd=ROOT)
    update_card(out, {"recipe": {"name": recipe_name, "run": {**recipe.run, "seed": seed},
                                 "command": f"aae train --recipe {recipe_name} --seed {seed}",
                                 "ran_as": f"aae seeds {recipe_name} --seeds {' '.join(map(str, record['seeds']))}",
                                 "note": f"the seed best on the validation images ({metric}); docs/sweeps/"
                                         f"{recipe_name}-seeds holds every seed's"}})
    subprocess.run([*aae, "eval", str(out), "--write"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def record_figures(recipe_name: str, figures_path: Path, seed: int) -> None:
    from aae.lab.paper import SEED_FIGURES

    new = json.loads(figures_path.read_text())
    figures = json.loads(SEED_FIGURES.read_text())
    figures["recipes"][recipe_name] = new["recipes"][recipe_name]
    figures.setdefault("measured_by", {})[recipe_name] = new["measured_by"][recipe_name]
    SEED_FIGURES.write_text(json.dumps(figures, indent=1) + "\n")

    toml = ROOT / "aae" / "lab" / "recipes" / f"{recipe_name}.toml"
    text, changed = re.subn(r"(?m)^seed = \d+$", f"seed = {seed}", toml.read_text())
    if changed != 1:
        raise SystemExit(f"{toml}: no single `seed = N` line to set to {seed}")
    toml.write_text(text)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--record-only"]
    if len(args) != 3:
        raise SystemExit(__doc__)
    main(args[0], Path(args[1]), Path(args[2]), ship="--record-only" not in sys.argv)
