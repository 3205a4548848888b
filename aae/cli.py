"""The `aae` command: train, sample, inspect and evaluate models from the shell, with the app's configs."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aae.catalog import CATALOG, build_config, config_options, entry, parse_option, train_config, training_card
from aae.corruption import CORRUPTIONS
from aae.data import DATASET_NAMES
from aae.priors import PRIOR_NAMES

# The flags below that set a model's config field (or build its prior); `model_config_from_args` passes
# those the user gave to aae.catalog.build_config, which refuses any the chosen kind has no field for.
MODEL_OPTIONS = ("encoder", "generator", "feature_matching", "generator_channels", "spectral_norm", "prior",
                 "prior_std", "recon_loss", "label_regularized", "latent_dim", "labels_per_class", "clusters",
                 "balance", "input_noise", "consistency", "pseudo_label", "augment_degrees",
                 "augment_labelled", "cycle", "corruption", "corruption_level", "hidden")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _labels_per_class(text: str) -> int | str:
    if text.strip().lower() == "all":
        return "all"  # explicitly every label (None would mean "not given")
    return _positive_int(text)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _prior_name(text: str) -> str:
    if text in PRIOR_NAMES or (text.startswith("image:") and len(text) > len("image:")):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(PRIOR_NAMES)} or image:PATH, got {text!r}")


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
    t.add_argument("--model", choices=list(CATALOG), default="aae",
                   help="; ".join(f"{kind}: {e.summary}" for kind, e in CATALOG.items()))
    t.add_argument("--preset", default=None, metavar="NAME",
                   help="start from one of the model's named presets (" + "; ".join(
                       f"{kind}: {', '.join(e.presets)}" for kind, e in CATALOG.items() if e.presets) + ")")
    t.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="FIELD=VALUE",
                   help="set any field of the model's config (`aae train --model KIND --fields` lists them), e.g. "
                        "--set beta=0.5; repeatable")
    t.add_argument("--fields", action="store_true", help="list the model's config fields with their help and exit")
    t.add_argument("--encoder", choices=["deterministic", "gaussian", "universal"], default=None,
                   help="AAE posterior q(z|x) (default: deterministic)")
    t.add_argument("--generator", choices=["dense", "conv"], default=None,
                   help="GAN generator: dense (the seeds' GAN) or conv (DCGAN-style)")
    t.add_argument("--feature-matching", type=float, default=None,
                   help="GAN: weight of the generator's feature-matching term (Salimans et al., 2016) against "
                        "mode collapse (default: 1 for the dense generator, which collapses without it; 0 for conv)")
    t.add_argument("--generator-channels", type=_positive_int, default=None,
                   help="GAN with --generator conv: channels at 7×7, half as many at 14×14 (default: 64)")
    t.add_argument("--spectral-norm", dest="spectral_norm", action="store_true", default=None,
                   help="GAN: spectral normalisation in the discriminator (default: on for conv, off for dense)")
    t.add_argument("--no-spectral-norm", dest="spectral_norm", action="store_false",
                   help="GAN: plain discriminator layers, without spectral normalisation (a stronger D)")
    t.add_argument("--prior", type=_prior_name, default=None, metavar="{" + ",".join(PRIOR_NAMES) + ",image:PATH}",
                   help="prior p(z) (default: gaussian; a VAE needs gaussian). image:PATH: a 2-D prior drawn as a "
                        "PNG, dark ink on light (or opaque on transparent) over [−4, 4]², top edge at z₂ = +4")
    t.add_argument("--prior-std", type=float, default=None,
                   help="scale of the prior (default: 5 for the AAE's Gaussian, as in the paper; else 1)")
    t.add_argument("--recon-loss", choices=["bce", "mse"], default=None,
                   help="AAE, VAE: reconstruction cost — bce (Bernoulli pixels, default) or mse (the paper's "
                        "Euclidean cost)")
    t.add_argument("--label-regularized", action="store_true", default=None,
                   help="AAE: the discriminator sees the label; p(z) is drawn from that label's component")
    t.add_argument("--latent-dim", type=_positive_int, default=None,
                   help="code size (default: 8; the style z of supervised 2, semi 4, cluster 2; GAN noise: 100)")
    t.add_argument("--labels-per-class", type=_labels_per_class, default=None,
                   help="semi, dimred: labelled training images per class (10 -> 100 labels), or 'all' "
                        "(default: semi 10, dimred 100)")
    t.add_argument("--clusters", type=_positive_int, default=None,
                   help="cluster: the number of clusters K (default: 16)")
    t.add_argument("--balance", type=float, default=None,
                   help="semi/cluster/dimred: weight of a batch term keeping all categories in use (not in the "
                        "paper; default: 0 for semi and dimred, the clustering AAE's default for cluster)")
    t.add_argument("--input-noise", type=float, default=None,
                   help="semi/cluster/dimred: σ of Gaussian noise on the encoder's input while training (paper, "
                        "semi-supervised: 0.3; default: 0)")
    t.add_argument("--consistency", type=float, default=None,
                   help="semi/cluster/dimred: weight of a term that keeps y the same under shifts of up to 2 "
                        "pixels (not in the paper; default: 0)")
    t.add_argument("--pseudo-label", type=float, default=None, metavar="THRESHOLD",
                   help="semi/cluster/dimred, with --consistency: teach the moved copy the confident hard class of "
                        "q(y|x) (images whose largest probability reaches THRESHOLD, e.g. 0.9) instead of its soft "
                        "probabilities (FixMatch; not in the paper; default: 0, off)")
    t.add_argument("--augment-degrees", type=float, default=None,
                   help="semi/cluster/dimred: the moved copies are also turned by up to this many degrees and "
                        "scaled by up to ±degrees/150 (not in the paper; default: 0, shifts only)")
    t.add_argument("--augment-labelled", action="store_true", default=None,
                   help="semi/dimred: move (and turn) the labelled images of the classification phase the same "
                        "way (not in the paper; default: off)")
    t.add_argument("--cycle", type=float, default=None, metavar="WEIGHT",
                   help="semi/cluster/dimred: weight of a term that makes the decoder write each category so that "
                        "the encoder reads it back (InfoGAN's mutual-information term; the encoder is held fixed "
                        "there; not in the paper; default: 0, off)")
    t.add_argument("--corruption", choices=CORRUPTIONS, default=None,
                   help="AAE: train a denoising AAE on inputs corrupted this way (clean targets)")
    t.add_argument("--corruption-level", type=float, default=None,
                   help="strength of --corruption in [0, 1] (Gaussian σ, or the share of pixels hit; default 0.3)")
    t.add_argument("--hidden", type=_positive_int, default=None,
                   help="width of the hidden layers of the autoencoders (default: 1000)")
    t.add_argument("--epochs", type=_positive_int, default=20)
    t.add_argument("--minutes", type=float, default=None,
                   help="train for about this many minutes: after the first epoch, --epochs is cut to what fits "
                        "and --lr-steps move in proportion; the card records what ran (default: all --epochs)")
    t.add_argument("--batch-size", type=_positive_int, default=None,
                   help="images per step (default: the model's, " + ", ".join(
                       f"{k} {e.batch_size}" for k, e in CATALOG.items()) + ")")
    t.add_argument("--lr", type=float, default=None,
                   help="rate of the main phase: reconstruction, ELBO, GAN generator (default: the model's, "
                        + ", ".join(f"{k} {e.lr:g}" for k, e in CATALOG.items()) + ")")
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
    t.add_argument("--regularization", choices=["shared", "joint", "phases"], default=None,
                   help="AAEs: joint adds the encoder's generator loss to its reconstruction step (measured "
                        "better, see README); shared (the plain AAE's default) also takes the discriminator's "
                        "step from that pass, on the codes from before the encoder's step (19 %% fewer "
                        "multiply-adds); phases gives each a step of its own, as the paper (default: shared "
                        "for --model aae, joint for the others)")
    t.add_argument("--adversarial-weight", type=float, default=None,
                   help="with --regularization joint or shared: weight of the generator loss (default: 1; 10 for a "
                        "label-regularised AAE, 5 for a drawn prior)")
    t.add_argument("--lr-steps", type=_epoch_list, default=(),
                   help="comma-separated epochs at which every rate drops tenfold (paper: 50)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--dataset", choices=DATASET_NAMES, default="mnist")
    t.add_argument("--data-dir", default=None, help="data root (default: $AAE_DATA_DIR, else ./data)")
    t.add_argument("--train-limit", type=_positive_int, default=None, help="use only this many training images")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="auto (default): bf16 only where the hardware has it natively (AVX-512 BF16 or AMX, a "
                        "GPU) and a quick timing finds it faster, else fp32; the card records what ran")
    t.add_argument("--compile", action="store_true",
                   help="torch.compile each network first: about 20 s more at the start, then about 9 %% faster "
                        "steps on a 2-core CPU (measured; a GPU not yet); checkpoints are the same")
    t.add_argument("--out", default=None, help="checkpoint folder to write (required unless --fields)")
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

    n = commands.add_parser("encode", help="write the test set's codes (N, D) and labels to an .npz, for other tools")
    n.add_argument("checkpoint")
    n.add_argument("--data-dir", default=None, help="data root (default: $AAE_DATA_DIR, else ./data)")
    n.add_argument("--split", choices=["test", "val", "train"], default="test",
                   help="which images to encode (default: the official test set)")
    n.add_argument("--out", required=True, help="the .npz to write: arrays `codes` (float32) and `labels` (int64)")

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
                "recipes": cmd_recipes, "encode": cmd_encode}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as error:  # our errors carry messages for people
        print(f"aae {args.command}: error: {error}", file=sys.stderr)
        return 2


def model_config_from_args(args: argparse.Namespace) -> tuple[str, Any]:
    """The model kind and its config dataclass from `aae train` arguments (aae.catalog.build_config)."""
    options = {name: getattr(args, name, None) for name in MODEL_OPTIONS}
    fields = {o.name: o for o in config_options(entry(args.model).config)}
    for name, text in getattr(args, "settings", []):
        if name not in fields:
            raise ValueError(f"the {entry(args.model).label} has no config field {name!r}; "
                             f"`aae train --model {args.model} --fields` lists them")
        options[name] = parse_option(fields[name], text)
    return args.model, build_config(args.model, options, preset=getattr(args, "preset", None))


def print_fields(kind: str) -> None:
    e = entry(kind)
    print(f"{kind}: {e.label} — {e.summary}")
    for option in config_options(e.config):
        print(f"  {option.name} = {option.default!r}\n      {option.help}")
    if e.presets:
        print("presets: " + "; ".join(f"{name} {dict(values)}" for name, values in e.presets.items()))


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
    from aae.training import Trainer, TrainResult, create_model, pick_device

    if args.fields:
        print_fields(args.model)
        return 0
    if not args.out:
        raise ValueError("--out is required: the checkpoint folder to write")
    from aae import distributed

    device = pick_device(args.device)
    world = distributed.setup(device)  # under torchrun: this process's rank; else the single process
    weights_dtype = _weights_dtype(args)  # a bad combination is refused before training, not after
    optimizer_state, start_epoch, prior_history, training = None, 0, [], {}
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
    # A resumed run keeps the batch, rate and regularisation it trained with unless told otherwise (the defaults
    # may have moved).
    batch_size = args.batch_size if args.batch_size is not None else training.get("batch_size")
    lr = args.lr if args.lr is not None else training.get("lr")
    regularization = args.regularization or training.get("regularization")
    config = train_config(kind, model.config, epochs=args.epochs, batch_size=batch_size, lr=lr,
                          seed=args.seed, device=device.type, sample_every=0, precision=args.precision,
                          optimizer=args.optimizer, momentum=args.momentum,
                          adversarial_momentum=args.adversarial_momentum, adversarial_lr=args.adversarial_lr,
                          supervised_lr=args.supervised_lr, lr_steps=args.lr_steps,
                          regularization=regularization, adversarial_weight=args.adversarial_weight,
                          minutes=args.minutes, compile=args.compile)
    splits = load_dataset(args.dataset, data_dir=args.data_dir, device=device, train_limit=args.train_limit)
    cancel = threading.Event()
    started = time.time()
    printer = ProgressPrinter(args.quiet or not world.main)  # rank 0 alone reports
    trainer: Trainer | None = None

    def callback(event) -> None:
        printer(event)
        every = args.save_every
        periodic = every > 0 and event.epoch % every == 0 and event.epoch < trainer.config.epochs
        if event.kind == "epoch" and world.main and periodic:
            partial = TrainResult(model=trainer.model, status="done", epochs_done=event.epoch, steps_done=event.step,
                                  elapsed=event.elapsed, history=list(trainer.history),
                                  optimizer_state=trainer.optimizer_state(),
                                  device=str(trainer.device))
            partial_card = training_card(args.dataset, splits, trainer.config, partial,
                                         history=prior_history + partial.history, seconds=time.time() - started)
            save_checkpoint(args.out, trainer.model, card=partial_card, optimizer_state=partial.optimizer_state)
            trainer.model.train()

    try:
        trainer = Trainer(model, splits, config, callback=callback, cancel=cancel, optimizer_state=optimizer_state,
                          start_epoch=start_epoch, world=world)
        result = trainer.fit()
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    if not world.main:  # rank 0 writes the one checkpoint
        distributed.barrier(world)
        distributed.teardown(world)
        return 0
    card = training_card(args.dataset, splits, trainer.config, result, history=prior_history + result.history,
                         seconds=time.time() - started)
    if world.distributed:
        card["training"]["processes"] = world.size  # data-parallel under torchrun (aae.distributed)
    if args.recipe is not None:
        card["recipe"] = {"name": args.recipe.name, "args": list(args.recipe.args),
                          "command": "aae " + " ".join(args.argv)}
    save_checkpoint(args.out, result.model, card=card, optimizer_state=result.optimizer_state,
                    inference_only=args.half or args.int8, dtype=weights_dtype)
    distributed.barrier(world)
    distributed.teardown(world)
    print(f"wrote {args.out} ({result.epochs_done} epochs, {result.elapsed:.1f} s on {result.device}"
          + (f", {world.size} processes" if world.distributed else "") + ")")
    return 0


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


def cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from aae.checkpoints import dataset_of, load_checkpoint
    from aae.data import load_dataset
    from aae.explore import encode_all

    checkpoint = load_checkpoint(args.checkpoint)
    if not checkpoint.model.has_encoder:
        raise ValueError(f"{args.checkpoint} is a {checkpoint.model.kind}: it has no encoder, so no codes")
    dataset = dataset_of(checkpoint.card)
    splits = load_dataset(dataset, data_dir=args.data_dir)
    x, y = {"test": (splits.test_x, splits.test_y), "val": (splits.val_x, splits.val_y),
            "train": (splits.train_x, splits.train_y)}[args.split]
    codes = encode_all(checkpoint.model.eval(), x).float().numpy()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:  # np.savez would add .npz to a name without it
        np.savez(handle, codes=codes.astype(np.float32), labels=y.numpy().astype(np.int64))
    print(f"wrote {out}: {codes.shape[0]:,} {dataset} {args.split} codes of {codes.shape[1]} dimensions")
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


def cmd_eval(args: argparse.Namespace) -> int:
    """Each checkpoint is measured on its own dataset's test set, with that dataset's classifier."""
    from aae.checkpoints import classifier_path, dataset_of, load_checkpoint, update_card
    from aae.data import load_dataset
    from aae.metrics.evaluate import evaluate, format_table

    splits_by_dataset: dict[str, Any] = {}
    classifiers: dict[str, Any] = {}

    def classifier_for(dataset: str):
        if dataset not in classifiers:
            path = Path(args.classifier) if args.classifier else classifier_path(dataset)
            if path.exists():
                classifiers[dataset] = load_checkpoint(path).model
            elif args.classifier:
                raise ValueError(f"no classifier checkpoint at {path}")
            else:
                classifiers[dataset] = None
                print(f"(no {dataset} classifier at {path}: Fréchet distance and coverage skipped; train one with "
                      f"`aae train --model classifier --dataset {dataset} --out {path}`)", file=sys.stderr)
        return classifiers[dataset]

    names, rows = [], []
    for path in args.checkpoints:
        checkpoint = load_checkpoint(path)
        dataset = dataset_of(checkpoint.card)
        if dataset not in splits_by_dataset:
            splits_by_dataset[dataset] = load_dataset(dataset, data_dir=args.data_dir)
        print(f"evaluating {checkpoint.name} on {dataset} …", file=sys.stderr)
        started = time.time()
        row = evaluate(checkpoint.model, splits_by_dataset[dataset], classifier=classifier_for(dataset),
                       n_samples=args.samples, seed=args.seed, parzen=not args.no_parzen)
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
