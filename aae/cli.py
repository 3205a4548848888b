"""The `aae` command: train, sample, inspect and evaluate models from the shell, with the app's configs."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aae.corruption import CORRUPTIONS
from aae.data import DATASET_NAMES
from aae.priors import PRIOR_NAMES


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _labels_per_class(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    return _positive_int(text)


def _epoch_list(text: str) -> tuple[int, ...]:
    try:
        epochs = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected epochs like 50,1000, got {text!r}") from None
    if any(e < 1 for e in epochs) or list(epochs) != sorted(set(epochs)):
        raise argparse.ArgumentTypeError(f"expected increasing epochs ≥ 1, got {text!r}")
    return epochs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aae", description="Latent Lab: adversarial autoencoders, VAEs and GANs.")
    commands = parser.add_subparsers(dest="command", required=True)

    t = commands.add_parser("train", help="train a model and write a checkpoint")
    t.add_argument("--recipe", default=None, metavar="NAME",
                   help="start from a named recipe's arguments (`aae recipes` lists them); flags after it override")
    t.add_argument("--model", choices=["aae", "vae", "gan", "supervised", "semi", "cluster", "dimred", "classifier"],
                   default="aae",
                   help="supervised: label + style decoder; semi: semi-supervised classifier AAE; cluster: "
                        "unsupervised clustering AAE; dimred: semi-supervised 2-D map with cluster heads; "
                        "classifier: the MNIST CNN that Fréchet distance and coverage use")
    t.add_argument("--encoder", choices=["deterministic", "gaussian", "universal"], default="deterministic",
                   help="AAE posterior q(z|x) (default: deterministic)")
    t.add_argument("--generator", choices=["dense", "conv"], default="dense",
                   help="GAN generator: dense (the seeds' GAN) or conv (DCGAN-style)")
    t.add_argument("--feature-matching", type=float, default=None,
                   help="GAN: weight of the generator's feature-matching term (Salimans et al., 2016) against "
                        "mode collapse (default: 1 for the dense generator, which collapses without it; 0 for conv)")
    t.add_argument("--generator-channels", type=_positive_int, default=64,
                   help="GAN with --generator conv: channels at 7×7, half as many at 14×14 (default: 64)")
    t.add_argument("--spectral-norm", dest="spectral_norm", action="store_true", default=None,
                   help="GAN: spectral normalisation in the discriminator (default: on for conv, off for dense)")
    t.add_argument("--no-spectral-norm", dest="spectral_norm", action="store_false",
                   help="GAN: plain discriminator layers, without spectral normalisation (a stronger D)")
    t.add_argument("--prior", choices=PRIOR_NAMES, default=None,
                   help="prior p(z) (default: gaussian; a VAE needs gaussian)")
    t.add_argument("--prior-std", type=float, default=None,
                   help="scale of the prior (default: 5 for the AAE's Gaussian, as in the paper; else 1)")
    t.add_argument("--recon-loss", choices=["bce", "mse"], default=None,
                   help="AAE, VAE: reconstruction cost — bce (Bernoulli pixels, default) or mse (the paper's "
                        "Euclidean cost)")
    t.add_argument("--label-regularized", action="store_true",
                   help="AAE: the discriminator sees the label; p(z) is drawn from that label's component")
    t.add_argument("--latent-dim", type=_positive_int, default=None,
                   help="code size (default: 8; the style z of supervised 2, semi 4, cluster 2; GAN noise: 100)")
    t.add_argument("--labels-per-class", type=_labels_per_class, default=10,
                   help="semi, dimred: labelled training images per class (10 -> 100 labels), or 'all' (default: 10)")
    t.add_argument("--clusters", type=_positive_int, default=16, help="cluster: the number of clusters K (default: 16)")
    t.add_argument("--balance", type=float, default=None,
                   help="semi/cluster/dimred: weight of a batch term keeping all categories in use (not in the "
                        "paper; default: 0 for semi and dimred, the clustering AAE's default for cluster)")
    t.add_argument("--input-noise", type=float, default=None,
                   help="semi/cluster/dimred: σ of Gaussian noise on the encoder's input while training (paper, "
                        "semi-supervised: 0.3; default: 0)")
    t.add_argument("--consistency", type=float, default=None,
                   help="semi/cluster/dimred: weight of a term that keeps y the same under shifts of up to 2 "
                        "pixels (not in the paper; default: 0)")
    t.add_argument("--corruption", choices=CORRUPTIONS, default="none",
                   help="AAE: train a denoising AAE on inputs corrupted this way (clean targets)")
    t.add_argument("--corruption-level", type=float, default=0.3,
                   help="strength of --corruption in [0, 1] (Gaussian σ, or the share of pixels hit; default 0.3)")
    t.add_argument("--hidden", type=_positive_int, default=1000, help="width of the hidden layers (default: 1000)")
    t.add_argument("--epochs", type=_positive_int, default=20)
    t.add_argument("--batch-size", type=_positive_int, default=100)
    t.add_argument("--lr", type=float, default=None,
                   help="rate of the main phase: reconstruction, ELBO, GAN generator (default: 1e-3; GAN 2e-4)")
    t.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                   help="adam: one Adam per phase; sgd: the paper's SGD with momentum per phase role "
                        "(default: adam)")
    t.add_argument("--adversarial-lr", type=float, default=None,
                   help="rate of the adversarial phases (default: the model's scale × --lr; paper, SGD: 0.1)")
    t.add_argument("--supervised-lr", type=float, default=None,
                   help="rate of the supervised phase of the semi-supervised AAE (paper, SGD: 0.1)")
    t.add_argument("--momentum", type=float, default=0.9,
                   help="SGD momentum of reconstruction and supervised phases (paper: 0.9)")
    t.add_argument("--adversarial-momentum", type=float, default=0.1,
                   help="SGD momentum of adversarial phases (paper: 0.1)")
    t.add_argument("--regularization", choices=["joint", "phases"], default="joint",
                   help="AAEs: joint adds the encoder's generator loss to its reconstruction step (default; "
                        "measured better, see README); phases gives it a step of its own, as the paper")
    t.add_argument("--adversarial-weight", type=float, default=None,
                   help="with --regularization joint: weight of the generator loss (default: 1; 5 for a "
                        "label-regularised AAE)")
    t.add_argument("--lr-steps", type=_epoch_list, default=(),
                   help="comma-separated epochs at which every rate drops tenfold (paper: 50)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--dataset", choices=DATASET_NAMES, default="mnist")
    t.add_argument("--data-dir", default=None, help="data root (default: $AAE_DATA_DIR, else ./data)")
    t.add_argument("--train-limit", type=_positive_int, default=None, help="use only this many training images")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: matrix products in bfloat16 (faster on CPUs with AVX-512 BF16/AMX and on GPUs)")
    t.add_argument("--out", required=True, help="checkpoint folder to write")
    t.add_argument("--resume", default=None, help="checkpoint to continue training (its config is kept)")
    t.add_argument("--half", action="store_true",
                   help="store float16 inference weights only (small, for shipping; cannot be resumed)")
    t.add_argument("--int8", action="store_true",
                   help="store int8 inference weights (one scale per row; a quarter of float32; cannot be resumed)")
    t.add_argument("--save-every", type=int, default=5, metavar="N",
                   help="write a resumable checkpoint to --out every N epochs while training (0: only at the end); "
                        "after an interruption, continue with --resume OUT (default: 5)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = commands.add_parser("sample", help="decode prior samples of a checkpoint into a PNG grid")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=_positive_int, default=100)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--manifold", action="store_true", help="2-D latent: decode a regular grid over the plane")
    s.add_argument("--out", required=True, help="PNG file to write")

    x = commands.add_parser("export", help="copy a checkpoint as small inference-only weights (for shipping)")
    x.add_argument("checkpoint")
    x.add_argument("--out", required=True, help="checkpoint folder to write")
    x.add_argument("--half", action="store_true", help="float16 weights (the default)")
    x.add_argument("--int8", action="store_true", help="int8 weight matrices with per-row scales")

    r = commands.add_parser("recipes", help="list the named recipes that the shipped models were trained with")
    r.add_argument("--names", action="store_true", help="print only the names, one per line (for scripts)")
    r.add_argument("--shipped", action="store_true", help="only the recipes of the models in checkpoints/")
    r.add_argument("--ship", metavar="NAME", default=None,
                   help="print how NAME is shipped: half (float16) or int8 (for scripts/train_shipped.sh)")

    i = commands.add_parser("info", help="print a checkpoint's card")
    i.add_argument("checkpoint")

    e = commands.add_parser("eval", help="measure checkpoints: Parzen, Fréchet, coverage, latent metrics")
    e.add_argument("checkpoints", nargs="+")
    e.add_argument("--data-dir", default=None, help="data root (default: $AAE_DATA_DIR, else ./data)")
    e.add_argument("--samples", type=_positive_int, default=10_000, help="samples per model (papers: 10,000)")
    e.add_argument("--classifier", default=None,
                   help="classifier checkpoint for Fréchet distance and coverage (default: checkpoints/classifier)")
    e.add_argument("--no-parzen", action="store_true", help="skip the Parzen estimate (the slowest metric)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--write", action="store_true", help="store the metrics in each checkpoint's card")
    return parser


def main(argv: list[str] | None = None) -> int:
    from aae.recipes import expand_recipe

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, recipe = expand_recipe(argv) if argv[:1] == ["train"] else (argv, None)
    except ValueError as error:
        print(f"aae: error: {error}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    args.recipe, args.argv = recipe, argv
    handlers = {"train": cmd_train, "sample": cmd_sample, "info": cmd_info, "eval": cmd_eval, "export": cmd_export,
                "recipes": cmd_recipes}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as error:  # our errors carry messages for people
        print(f"aae {args.command}: error: {error}", file=sys.stderr)
        return 2


def model_config_from_args(args: argparse.Namespace) -> tuple[str, Any]:
    """The model kind and its config dataclass from `aae train` arguments."""
    from aae.models import (
        AAEConfig,
        ClusteringAAEConfig,
        GANConfig,
        SemiSupervisedAAEConfig,
        SupervisedAAEConfig,
        VAEConfig,
    )
    from aae.priors import PriorConfig

    corruption = getattr(args, "corruption", "none")
    if args.model == "aae":
        prior = args.prior or "gaussian"
        std = args.prior_std if args.prior_std is not None else (5.0 if prior == "gaussian" else 1.0)
        return "aae", AAEConfig(latent_dim=args.latent_dim or 8, hidden=args.hidden, encoder=args.encoder,
                                prior=PriorConfig(name=prior, std=std), label_regularized=args.label_regularized,
                                recon_loss=getattr(args, "recon_loss", None) or "bce",
                                corruption=corruption,
                                corruption_level=args.corruption_level if corruption != "none" else 0.0)
    if args.label_regularized:
        raise ValueError("--label-regularized applies to the AAE only")
    if corruption != "none":
        raise ValueError("--corruption (the denoising AAE) applies to --model aae only")
    if args.model in ("supervised", "semi", "cluster", "dimred"):
        if args.prior not in (None, "gaussian"):
            raise ValueError(f"the style code of a {args.model} AAE takes a Gaussian prior, not {args.prior!r}")
        style = {"hidden": args.hidden, "prior": PriorConfig(name="gaussian", std=args.prior_std or 1.0)}
        if args.latent_dim:
            style["latent_dim"] = args.latent_dim
        if args.model == "supervised":
            return "supervised", SupervisedAAEConfig(**style)
        if getattr(args, "balance", None) is not None:  # else each config's own default (0; cluster: 5)
            style["balance_weight"] = args.balance
        if getattr(args, "input_noise", None) is not None:
            if args.input_noise < 0:
                raise ValueError(f"--input-noise must be 0 or more, got {args.input_noise}")
            style["input_noise"] = args.input_noise
        if getattr(args, "consistency", None) is not None:
            if args.consistency < 0:
                raise ValueError(f"--consistency must be 0 or more, got {args.consistency}")
            style["consistency_weight"] = args.consistency
        if args.model == "semi":
            return "semi", SemiSupervisedAAEConfig(**style, labels_per_class=args.labels_per_class)
        if args.model == "dimred":
            from aae.models import DimReductionAAEConfig

            return "dimred", DimReductionAAEConfig(**style, labels_per_class=args.labels_per_class)
        return "cluster", ClusteringAAEConfig(**style, n_categories=args.clusters)
    if args.model == "classifier":
        from aae.models import ClassifierConfig

        return "classifier", ClassifierConfig()
    if args.model == "vae":
        return "vae", VAEConfig(latent_dim=args.latent_dim or 8, hidden=args.hidden,
                                recon_loss=getattr(args, "recon_loss", None) or "bce",
                                prior=PriorConfig(name=args.prior or "gaussian", std=args.prior_std or 1.0))
    # Defaults that work (measured, README): the dense generator collapsed onto 5 classes without feature
    # matching and drew 9 with it and a plain D; the conv generator drew 10 classes as it is.
    generator = getattr(args, "generator", "dense")
    feature_matching = getattr(args, "feature_matching", None)
    spectral_norm = getattr(args, "spectral_norm", None)
    return "gan", GANConfig(latent_dim=args.latent_dim or 100, generator=generator,
                            feature_matching=(1.0 if generator == "dense" else 0.0) if feature_matching is None
                            else feature_matching,
                            generator_channels=getattr(args, "generator_channels", 64),
                            spectral_norm=(generator != "dense") if spectral_norm is None else spectral_norm,
                            prior=PriorConfig(name=args.prior or "gaussian", std=args.prior_std or 1.0))


class ProgressPrinter:
    """Turns TrainEvents into a tqdm bar with live losses (or nothing, when quiet)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.bar = quiet, None

    def __call__(self, event) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if event.kind == "start":
            print(f"training on {event.message}", file=sys.stderr)
            self.bar = tqdm(total=event.total_steps, initial=event.step, unit="step", file=sys.stderr,
                            dynamic_ncols=True)
        elif event.kind == "step" and self.bar is not None:
            self.bar.update(event.step - self.bar.n)
            shown = {k: f"{v:.3g}" for k, v in event.losses.items()}
            self.bar.set_postfix(shown | {"img/s": f"{event.images_per_second:.0f}"}, refresh=False)
        elif event.kind == "epoch" and self.bar is not None:
            self.bar.update(event.step - self.bar.n)
            val = {k: round(v, 3) for k, v in event.losses.items() if k.startswith("val_")}
            self.bar.write(f"epoch {event.epoch}/{event.epochs}  {val}")
        elif event.kind in ("done", "cancelled") and self.bar is not None:
            self.bar.close()


def cmd_train(args: argparse.Namespace) -> int:
    from aae.checkpoints import load_checkpoint, save_checkpoint
    from aae.data import load_dataset
    from aae.training import TrainConfig, Trainer, TrainResult, adversarial_defaults, create_model, pick_device

    device = pick_device(args.device)
    weights_dtype = _weights_dtype(args)  # a bad combination is refused before training, not after
    optimizer_state, start_epoch, prior_history = None, 0, []
    if args.resume:
        checkpoint = load_checkpoint(args.resume)
        if checkpoint.optimizer_state is None:
            raise ValueError(f"{args.resume} holds inference weights only and cannot be resumed")
        model, kind = checkpoint.model, checkpoint.card["kind"]
        training = checkpoint.card.get("training", {})
        start_epoch, prior_history = training.get("epochs", 0), training.get("history", [])
        optimizer_state = checkpoint.optimizer_state
        if start_epoch >= args.epochs:
            raise ValueError(f"{args.resume} already has {start_epoch} epochs; ask for more with --epochs")
    else:
        kind, model_config = model_config_from_args(args)
        model = create_model(kind, model_config, seed=args.seed)
    lr = args.lr if args.lr is not None else (2e-4 if kind == "gan" else 1e-3)
    default_weight, default_adversarial_lr = adversarial_defaults(model, lr)
    adversarial_weight = args.adversarial_weight if args.adversarial_weight is not None else default_weight
    adversarial_lr = args.adversarial_lr if args.adversarial_lr is not None else default_adversarial_lr
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=lr, seed=args.seed,
                         device=device.type, sample_every=0, precision=args.precision, optimizer=args.optimizer,
                         momentum=args.momentum, adversarial_momentum=args.adversarial_momentum,
                         adversarial_lr=adversarial_lr, supervised_lr=args.supervised_lr,
                         lr_steps=args.lr_steps, regularization=args.regularization,
                         adversarial_weight=adversarial_weight)
    splits = load_dataset(args.dataset, data_dir=args.data_dir, device=device, train_limit=args.train_limit)
    cancel = threading.Event()
    started = time.time()
    printer = ProgressPrinter(args.quiet)
    trainer: Trainer | None = None

    def callback(event) -> None:
        printer(event)
        every = args.save_every
        if event.kind == "epoch" and every > 0 and event.epoch % every == 0 and event.epoch < args.epochs:
            partial = TrainResult(model=trainer.model, status="done", epochs_done=event.epoch, steps_done=event.step,
                                  elapsed=event.elapsed, history=list(trainer.history),
                                  optimizer_state={k: o.state_dict() for k, o in trainer.optimizers.items()},
                                  device=str(trainer.device))
            partial_card = training_card(args.dataset, splits, config, partial, history=prior_history + partial.history,
                                         seconds=time.time() - started)
            save_checkpoint(args.out, trainer.model, card=partial_card, optimizer_state=partial.optimizer_state)
            trainer.model.train()

    try:
        trainer = Trainer(model, splits, config, callback=callback, cancel=cancel, optimizer_state=optimizer_state,
                          start_epoch=start_epoch)
        result = trainer.fit()
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    card = training_card(args.dataset, splits, config, result, history=prior_history + result.history,
                         seconds=time.time() - started)
    if args.recipe is not None:
        card["recipe"] = {"name": args.recipe.name, "args": list(args.recipe.args),
                          "command": "aae " + " ".join(args.argv)}
    save_checkpoint(args.out, result.model, card=card, optimizer_state=result.optimizer_state,
                    inference_only=args.half or args.int8, dtype=weights_dtype)
    print(f"wrote {args.out} ({result.epochs_done} epochs, {result.elapsed:.1f} s on {result.device})")
    return 0


def training_card(dataset: str, splits, config, result, *, history: list, seconds: float) -> dict[str, Any]:
    """What a checkpoint card records about data and training (the checkpoint adds model and versions)."""
    from dataclasses import asdict

    return {
        "dataset": {"name": dataset, "train_images": len(splits.train_x), "val_images": len(splits.val_x),
                    "test_images": len(splits.test_x),
                    "note": f"{len(splits.train_x):,} training images and {len(splits.val_x):,} validation images "
                            "drawn (seeded) from the dataset's training set; the test images are its official "
                            "test set"},
        "training": {**asdict(config), "epochs": result.epochs_done, "steps": result.steps_done,
                     "device": result.device, "seconds": round(seconds, 1), "history": history},
    }


def _weights_dtype(args: argparse.Namespace) -> str:
    if args.half and args.int8:
        raise ValueError("choose one of --half and --int8")
    return "int8" if args.int8 else "float16" if args.half else "float32"


def cmd_export(args: argparse.Namespace) -> int:
    """Copy a checkpoint as inference-only weights in a smaller dtype (for shipping), keeping its card."""
    from aae.checkpoints import load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(args.checkpoint)
    card = {k: v for k, v in checkpoint.card.items()
            if k not in ("format", "kind", "config", "weights", "versions", "saved_at", "files")}
    card["name"] = Path(args.out).name
    card["exported_from"] = {"path": str(args.checkpoint), "weights": checkpoint.card.get("weights")}
    dtype = _weights_dtype(args) if (args.half or args.int8) else "float16"
    save_checkpoint(args.out, checkpoint.model, card=card, inference_only=True, dtype=dtype)
    size = sum(f.stat().st_size for f in Path(args.out).iterdir())
    print(f"wrote {args.out} ({dtype} inference weights, {size / 1e6:.1f} MB)")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from aae.checkpoints import load_checkpoint
    from aae.explore import image_grid, manifold, to_png

    checkpoint = load_checkpoint(args.checkpoint)
    model = checkpoint.model
    if model.kind == "classifier":
        raise ValueError(f"{args.checkpoint} is a classifier: it has nothing to sample")
    if args.manifold:
        images, nrow = manifold(model, n=20), 20
    else:
        generator = torch.Generator().manual_seed(args.seed)
        if model.conditional:  # the paper's figure: each row one style z, written as every class (or cluster)
            nrow = model.n_content
            images = model.style_grid(model.sample_styles(max(1, args.n // nrow), generator=generator))
        else:
            images, nrow = model.sample(args.n, labels=torch.arange(args.n) % 10, generator=generator), 10
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(to_png(image_grid(images, nrow=nrow)))
    print(f"wrote {args.out} ({len(images)} images from {checkpoint.name})")
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from aae.recipes import RECIPES, get_recipe

    if args.ship:
        print("int8" if get_recipe(args.ship).ship == "int8" else "half")
        return 0
    recipes = [recipe for recipe in RECIPES if recipe.shipped or not args.shipped]
    if args.names:
        print("\n".join(recipe.name for recipe in recipes))
        return 0
    for recipe in recipes:
        print(f"{recipe.name}{'' if recipe.shipped else '  (not shipped)'}\n  {recipe.summary}\n  {recipe.command}")
        if recipe.paper:
            print(f"  paper: {recipe.paper}")
        if recipe.deviation:
            print(f"  differs from the paper: {recipe.deviation}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from aae.checkpoints import read_card

    card = read_card(args.checkpoint)
    card.get("training", {}).pop("history", None)
    print(json.dumps(card, indent=2))
    return 0


def default_classifier() -> Path:
    return Path(__file__).resolve().parents[1] / "checkpoints" / "classifier"


def cmd_eval(args: argparse.Namespace) -> int:
    from aae.checkpoints import load_checkpoint, update_card
    from aae.data import load_dataset
    from aae.metrics.evaluate import evaluate, format_table

    splits = load_dataset("mnist", data_dir=args.data_dir)
    classifier_path = Path(args.classifier) if args.classifier else default_classifier()
    classifier = None
    if classifier_path.exists():
        classifier = load_checkpoint(classifier_path).model
    elif args.classifier:
        raise ValueError(f"no classifier checkpoint at {classifier_path}")
    else:
        print(f"(no classifier at {classifier_path}: Fréchet distance and coverage skipped; "
              "train one with `aae train --model classifier --out checkpoints/classifier`)", file=sys.stderr)
    names, rows = [], []
    for path in args.checkpoints:
        checkpoint = load_checkpoint(path)
        print(f"evaluating {checkpoint.name} …", file=sys.stderr)
        started = time.time()
        row = evaluate(checkpoint.model, splits, classifier=classifier, n_samples=args.samples, seed=args.seed,
                       parzen=not args.no_parzen)
        row["data"]["seconds"] = round(time.time() - started, 1)
        names.append(checkpoint.name)
        rows.append(row)
        if args.write:
            update_card(path, {"metrics": row})
    if args.json:
        print(json.dumps(dict(zip(names, rows)), indent=2))
    else:
        print(format_table(names, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
