"""Named training recipes: each shipped model comes from one of these, exactly as `aae train` arguments.

`aae recipes` lists them and `aae train --recipe NAME --out DIR` runs one (any other flag given after it
overrides the recipe's). `scripts/train_shipped.sh` is a loop over them. A checkpoint trained from a recipe
records the recipe's name and arguments in its card, so the card says how to reproduce it.

Every recipe trains on the paper's split of MNIST (50,000 training + 10,000 validation images) unless it
says otherwise. `paper` is the figure of the paper (Makhzani et al., 2016) the recipe is measured against;
`deviation` says where the recipe departs from the paper's appendix, and why (measured).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    name: str  # also the shipped checkpoint's folder in checkpoints/
    summary: str  # one line for people
    args: tuple[str, ...]  # exactly the `aae train` arguments (no --out, --data-dir, --device)
    paper: str = ""  # the paper's figure or number this is compared with
    deviation: str = ""  # where it departs from the paper's recipe, and why

    @property
    def command(self) -> str:
        return "aae train " + " ".join(self.args)


# The AAE's optimiser (measured, README "Why the AAEs lost to the VAE"): Adam for reconstruction, and
# the adversarial phases at a twentieth of its rate, so that fooling the discriminator moves the encoder
# a fifth as far per step as reconstruction does (it moved it as far with both phases at the same rate).
_AAE_OPT = ("--lr", "1e-3", "--adversarial-lr", "5e-5")

RECIPES: tuple[Recipe, ...] = (
    Recipe("aae-2d-gaussian", "2-D AAE, prior N(0, I): the paper's figure 2 (left)",
           ("--model", "aae", "--latent-dim", "2", "--hidden", "400", "--prior", "gaussian", "--prior-std", "1",
            *_AAE_OPT, "--epochs", "40", "--seed", "0", "--half"),
           paper="Fig. 2: test codes fill the prior, classes separated",
           deviation="Adam with slow adversarial phases, 40 epochs, 400 units (paper: SGD, 1000 units, "
                     "thousands of epochs)"),
    Recipe("vae-2d", "2-D VAE of the same size, data and epochs: the paper's figure 2 (right)",
           ("--model", "vae", "--latent-dim", "2", "--hidden", "400", "--lr", "1e-3", "--epochs", "40",
            "--seed", "0", "--half"),
           paper="Fig. 2: the VAE leaves gaps between classes"),
)

_BY_NAME = {recipe.name: recipe for recipe in RECIPES}


def get_recipe(name: str) -> Recipe:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; `aae recipes` lists them: {', '.join(_BY_NAME)}") from None


def expand_recipe(argv: list[str]) -> tuple[list[str], Recipe | None]:
    """`train --recipe NAME [flags]` -> `train <the recipe's args> [flags]` (later flags win), and the recipe."""
    if "--recipe" not in argv:
        return argv, None
    at = argv.index("--recipe")
    if at + 1 >= len(argv):
        raise ValueError("--recipe needs a name; `aae recipes` lists them")
    recipe = get_recipe(argv[at + 1])
    rest = argv[:at] + argv[at + 2:]
    command, flags = rest[:1], rest[1:]
    return [*command, *recipe.args, *flags], recipe
