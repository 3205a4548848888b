"""aae.core.catalog: one entry per model kind, and the one builder of configs the CLI, Train page and jobs share."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from aae.core import catalog
from aae.core.models import CATALOG, AAEConfig, GANConfig
from aae.core.priors import PriorConfig

ROOT = Path(__file__).resolve().parents[1]


def test_every_kind_is_declared_once_with_what_the_rest_reads():
    orders = [(entry.order, kind) for kind, entry in CATALOG.items()]
    assert orders == sorted(orders)  # the declared order, kinds of one order by name
    for kind, entry in CATALOG.items():
        assert entry.kind == kind and entry.model.kind == kind
        assert entry.label and entry.summary
        assert set(entry.capabilities) >= {"encoder", "conditional", "categorical", "generator_only"}


def test_capability_queries():
    """Each query returns exactly the kinds whose declared capabilities match (a new kind joins by declaring)."""
    for query in ({"encoder": True, "conditional": False, "categorical": False}, {"categorical": True},
                  {"generates": False, "translates": False}, {"translates": True}):
        expected = tuple(k for k, e in catalog.CATALOG.items()
                         if all(e.capabilities[name] == value for name, value in query.items()))
        assert catalog.kinds(**query) == expected and expected, query
    assert {"aae", "vae"} <= set(catalog.kinds(encoder=True, conditional=False, categorical=False))
    assert "gan" not in catalog.kinds(encoder=True) and "classifier" not in catalog.kinds(trainable=True)
    assert "cyclegan" in catalog.kinds(translates=True) and "cyclegan" not in catalog.kinds(generates=True)
    with pytest.raises(ValueError, match="unknown capabilities"):
        catalog.kinds(flies=True)


def test_metrics_that_apply_follow_capabilities():
    assert "knn_accuracy" in catalog.entry("aae").metrics and "knn_accuracy" not in catalog.entry("gan").metrics
    assert "test_error" in catalog.entry("semi").metrics and "cluster_error" in catalog.entry("cluster").metrics
    assert catalog.entry("classifier").metrics == ("test_accuracy",)


def test_build_config_defaults_aliases_and_dependent_defaults():
    assert catalog.build_config("aae") == AAEConfig()
    # A 2-D-only prior without a size gets 2-D; an unset scale is 1 for a prior other than the default one
    two_d = catalog.build_config("aae", {"prior": "mog10", "label_regularized": True})
    assert two_d.latent_dim == 2 and two_d.prior == PriorConfig("mog10", 1.0)
    assert catalog.build_config("aae", {"prior": "gaussian"}).prior.std == 5.0  # the AAE's own N(0, 5²I)
    assert catalog.build_config("cluster", {"clusters": 30}).n_categories == 30  # --clusters -> n_categories
    assert catalog.build_config("semi", {"labels_per_class": "all"}).labels_per_class is None
    # The GAN's feature matching depends on its generator unless set
    assert catalog.build_config("gan").feature_matching == 1.0 and not catalog.build_config("gan").spectral_norm
    conv = catalog.build_config("gan", {"generator": "conv"})
    assert conv.feature_matching == 0.0 and conv.spectral_norm
    assert catalog.build_config("gan", {"generator": "conv", "feature_matching": 2.0}).feature_matching == 2.0
    # The dense generator's D is wider by default; the user's width wins, and the conv GAN keeps 32
    assert catalog.build_config("gan").disc_channels == 64 and conv.disc_channels == 32
    assert catalog.build_config("gan", {"disc_channels": 16}).disc_channels == 16
    assert catalog.build_config("aae", {"corruption": "masking"}).corruption_level == 0.3
    assert catalog.build_config("gan", {"generator": "conv", "generator_channels": 128}) == GANConfig(
        generator="conv", generator_channels=128, feature_matching=0.0, spectral_norm=True)


@pytest.mark.parametrize(("kind", "options", "message"), [
    ("gan", {"hidden": 32}, "--hidden does not apply to the GAN"),
    ("semi", {"corruption": "gaussian"}, "applies to --model aae / vae"),
    ("vae", {"prior": "mog10"}, "Gaussian prior"),
    ("semi", {"prior": "swissroll"}, "Gaussian prior"),
    ("aae", {"prior": "gaussian", "label_regularized": True}, "mog10 or swissroll"),
    ("aae", {"prior": "mog10", "latent_dim": 8}, "latent dimension of 2"),
    ("aae", {"corruption": "gaussian", "corruption_level": 2.0}, "corruption"),
    ("nope", {}, "unknown model kind"),
])
def test_build_config_refuses_what_cannot_train_with_a_message(kind, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        catalog.build_config(kind, options)


def test_options_carry_types_defaults_and_help_from_the_field_metadata():
    options = {o.name: o for o in catalog.config_options(AAEConfig)}
    assert options["latent_dim"].default == 8 and options["latent_dim"].base_type is int
    assert options["latent_dim"].help == dataclasses.fields(AAEConfig)[0].metadata["help"]  # declared once
    assert options["encoder"].choices == ("deterministic", "gaussian", "universal")
    semi = {o.name: o for o in catalog.config_options(CATALOG["cluster"].config)}
    assert semi["labels_per_class"].optional and semi["n_categories"].default == 16
    assert semi["balance_weight"].help and semi["hidden"].help  # the subclass's own, and the inherited
    assert catalog.parse_option(semi["labels_per_class"], "all") is None
    gan = {o.name: o for o in catalog.config_options(GANConfig)}
    assert catalog.parse_option(gan["generator_hidden"], "64,128") == (64, 128)
    with pytest.raises(ValueError, match="takes a float"):
        catalog.parse_option(gan["feature_matching"], "lots")


# What a field's help must not carry: development history and insider references, not what a user sets.
HISTORY = re.compile(r"issue \d|session \d|README|\.py\b|20\d\d-\d\d|resolve_\w+\(|`\w+\(`")


def _configs_with_help() -> list[type]:
    """Every catalogue kind's config, the prior's, and the training config once its fields declare help."""
    from aae.core.training import TrainConfig

    configs = list(dict.fromkeys(entry.config for entry in CATALOG.values())) + [PriorConfig]
    if any(f.metadata for f in dataclasses.fields(TrainConfig)):
        configs.append(TrainConfig)
    return configs


def test_every_config_field_declares_one_line_of_user_help():
    problems = []
    for config in _configs_with_help():
        for f in dataclasses.fields(config):
            text = f.metadata.get("help", "")
            where = f"{config.__name__}.{f.name}"
            if not text.strip():
                problems.append(f"{where}: no help in its metadata (declare it with setting(default, help))")
            elif "\n" in text or len(text) > 160:
                problems.append(f"{where}: help should be one short line, got {text!r}")
            elif HISTORY.search(text):
                problems.append(f"{where}: help carries history or a source reference: {text!r}")
    assert not problems, "\n".join(problems)


def test_short_command_line_flags_are_declared_on_their_fields():
    declared = {(f.metadata["flag"], f.name) for config in _configs_with_help()
                for f in dataclasses.fields(config) if "flag" in f.metadata}
    assert declared >= {("clusters", "n_categories"), ("balance", "balance_weight"),
                        ("consistency", "consistency_weight"), ("pseudo_label", "pseudo_label_threshold"),
                        ("cycle", "cycle_weight")}
    flags = [flag for flag, _ in declared]
    assert len(flags) == len(set(flags)), f"a flag names two fields: {sorted(declared)}"


def test_train_config_uses_the_kinds_rate_and_the_label_regularised_adversary():
    gan = catalog.train_config("gan", catalog.build_config("gan"))
    assert gan.lr == 1e-3 and gan.adversarial_weight == 1.0
    labelled = catalog.build_config("aae", {"prior": "mog10", "label_regularized": True})
    config = catalog.train_config("aae", labelled, lr=1e-3)
    assert (config.adversarial_weight, config.adversarial_lr) == (10.0, 1e-3)
    assert catalog.train_config("aae", labelled, lr=3e-4).adversarial_lr == 3e-4  # its adversary follows the rate
    assert catalog.train_config("aae", labelled, adversarial_weight=2.0).adversarial_weight == 2.0
    assert catalog.train_config("aae", catalog.build_config("aae")).adversarial_lr is None  # the model's own scale


@pytest.mark.parametrize("kind", list(CATALOG))
def test_each_kinds_training_defaults_come_from_its_config_and_options_set_win(kind):
    config = CATALOG[kind].config()
    defaults = config.training_defaults()
    trained = catalog.train_config(kind, config)
    assert {name: getattr(trained, name) for name in defaults} == defaults
    assert catalog.training_defaults(kind) == defaults
    assert {o.name: o.default for o in catalog.training_options(kind) if o.name in defaults} == defaults
    chosen = catalog.train_config(kind, config, lr=0.0123, batch_size=7, regularization="phases")
    assert (chosen.lr, chosen.batch_size, chosen.regularization) == (0.0123, 7, "phases")
    # a default regularisation the model can run: shared only where its discriminator can share the pass
    assert defaults["regularization"] != "shared" or CATALOG[kind].model.shares_regularization_pass
    with pytest.raises(ValueError, match="takes a"):
        catalog.train_config(kind, object())


def test_dependent_defaults_fill_only_what_is_left_unset():
    for kind in ("aae", "vae"):  # a corruption without a level gets one; a level set stays
        assert catalog.build_config(kind, {"corruption": "gaussian"}).corruption_level == 0.3
        assert catalog.build_config(kind, {"corruption": "gaussian", "corruption_level": 0.1}).corruption_level == 0.1
        assert catalog.build_config(kind).corruption_level == 0.0


def test_no_list_of_model_kinds_outside_the_catalogue():
    """views/, ui/, app.py, the jobs and the CLI ask the catalogue; none of them lists kinds itself."""
    kinds = "|".join(re.escape(k) for k in CATALOG)
    # three kinds in a row, or a picker's kinds=("aae", ...); the duel's two sides ("gan", "aae") are slots
    listing = re.compile(rf"""["']({kinds})["']\s*,\s*["']({kinds})["']\s*,\s*["']({kinds})["']"""
                         rf"""|kinds\s*=\s*\(\s*["']({kinds})["']""")
    files = [*ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py", *ROOT.glob("aae/app/*.py"),
             *ROOT.glob("aae/cli/*.py")]
    offenders = [f"{f.name}: {m.group(0)}" for f in files for m in listing.finditer(f.read_text())]
    assert not offenders, offenders
    for f in [*ROOT.glob("views/*.py"), *ROOT.glob("aae/app/*.py")]:
        assert "aae.cli" not in f.read_text(), f"{f.name} imports the command line"
