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


def test_the_8d_pair_is_read_arm_by_arm_from_the_sweep_records():
    """Each arm of the like-for-like pair takes exactly its own trials (its values, any seed), and the difference
    between the models is given in nats and in standard errors of the difference."""
    def trial(seed, parzen, **params):
        return {"params": {**params, "seed": seed}, "figures": {"val_parzen_ll": parzen, "val_frechet": 100.0}}

    sweeps = {"aae-8d-plain": {"trials": [trial(0, 210.0), trial(1, 212.0), trial(2, 214.0)]},
              "vae-8d": {"trials": [trial(0, 200.0, corruption="none"), trial(1, 204.0, corruption="none"),
                                    trial(0, 900.0, corruption="gaussian")]},
              "aae-8d": {"trials": [trial(0, 240.0, corruption_level=0.3)]}}
    rows = report.pair_rows(sweeps)
    assert [(r["model"], r["inputs"]) for r in rows] == [(a.model, a.inputs) for a in report.EIGHT_D_PAIR]
    plain_aae, plain_vae, noisy_aae, noisy_vae = (r[report.PAIR[2]] for r in rows)
    assert plain_aae == "212.0 ± 2.0 (3 seeds)" and plain_vae == "202.0 ± 2.8 (2 seeds)"
    assert noisy_aae == "not measured yet"  # σ 0.3's trial is another arm's
    assert noisy_vae == "900.0 (1 seed)"
    (line,) = report.pair_differences(sweeps)  # the noisy pair lacks seeds: no line for it
    se = (4.0 / 3 + 8.0 / 2) ** 0.5
    assert line.startswith("plain inputs: the AAE is ahead on validation Parzen by 10.0 nats")
    assert f"{10.0 / se:.1f} standard errors" in line


def test_each_target_is_met_or_says_by_how_much():
    """A test error is met only at or below the paper's mean over >= 3 seeds; the plain 8-D AAE only when ahead of
    the plain VAE by more than two standard errors; every verdict gives the gap."""
    figures = {"recipes": {"semi-100": {"test_error": {"0": 0.017, "1": 0.018, "2": 0.019}},  # 1.80 % < 1.90 %
                           "semi-1000": {"test_error": {"0": 0.015}},  # below, but one seed
                           "cluster-16": {"cluster_error": {"0": 0.10, "1": 0.11, "2": 0.12}}}}  # 11 % > 9.55 %
    def trial(seed, parzen, **params):
        return {"params": {**params, "seed": seed}, "figures": {"val_parzen_ll": parzen}}

    sweeps = {"aae-8d-plain": {"trials": [trial(0, 210.0), trial(1, 212.0), trial(2, 214.0)]},
              "vae-8d": {"trials": [trial(0, 209.0, corruption="none"), trial(1, 211.0, corruption="none")]}}
    rows = {row["target"].split("(")[-1].rstrip(")"): row["met?"] for row in report.targets(figures, sweeps)
            if "(" in row["target"]}
    assert rows["semi-100"] == "yes: 0.10 points below the paper's mean"
    assert rows["semi-1000"].startswith("not shown: 0.10 points below") and "1 seed(s) of the 3" in rows["semi-1000"]
    assert rows["cluster-16"] == "no: 1.45 points above the paper's mean"
    assert rows["semi-all"] == "not measured"
    (pair,) = [row["met?"] for row in report.targets(figures, sweeps) if "8-D" in row["target"]]
    assert pair.startswith("no: the AAE is ahead by 2.0 nats, 1.3 standard errors")  # ahead, but within noise
    sweeps["vae-8d"]["trials"] = [trial(0, 200.0, corruption="none"), trial(1, 202.0, corruption="none")]
    (pair,) = [row["met?"] for row in report.targets(figures, sweeps) if "8-D" in row["target"]]
    assert pair.startswith("yes: the AAE is ahead by 11.0 nats")


def test_the_stylegan_and_cyclegan_targets_are_judged_from_their_cards_with_the_gap():
    """Each of the StyleGAN's and CycleGAN's targets is met or missed by a stated amount, from the cards' figures;
    a figure no card has is "not measured", never a pass."""
    cards = {report.STYLEGAN: {"metrics": {"modes_covered": 9, "sample_confidence": 0.85, "frechet": 30.0,
                                           "ppl": 10.0, "ppl_w": 12.0}},
             report.DENSE_GAN: {"metrics": {"frechet": 140.0}},
             report.CYCLEGAN: {"metrics": {"class_preservation_ab": 0.62, "class_preservation_ba": 0.85,
                                           "class_preservation_pixels_ab": 0.915,
                                           "class_preservation_untranslated_ba": 0.82}}}
    verdicts = [row["met?"] for row in report.model_targets(cards)]
    assert verdicts == ["no: 1 missing", "yes: 0.050 above", "yes: 110.0 lower", "no: W is 1.2× rougher",
                        "no: 28.0 points below", "yes: 1.5 points above", "yes: +3.0 points"]
    del cards[report.DENSE_GAN], cards[report.STYLEGAN]["metrics"]["sample_confidence"]
    del cards[report.CYCLEGAN]["metrics"]["class_preservation_pixels_ab"]
    cards[report.CYCLEGAN]["metrics"]["class_preservation_ba"] = 0.82  # no better than the naive upscale
    verdicts = [row["met?"] for row in report.model_targets(cards)]
    assert verdicts[1] == verdicts[2] == verdicts[5] == "not measured" and verdicts[6] == "no: +0.0 points"
    # over the recipe's seeds: each figure's mean ± std, and the lift over the naive upscale seed by seed
    figures = {"recipes": {report.CYCLEGAN: {"class_preservation_ba": {"0": 0.86, "1": 0.88, "2": 0.90},
                                             "class_preservation_untranslated_ba": {"0": 0.82, "1": 0.82, "2": 0.82}},
                           report.STYLEGAN: {"ppl": {"0": 10.0, "1": 12.0}, "ppl_w": {"0": 4.0, "1": 6.0}}}}
    seeds = [row["over the recipe's seeds (mean ± std)"] for row in report.model_targets(cards, figures)]
    assert seeds[6] == "88.00 ± 2.00 % (3 seeds); lift +6.0 ± 2.0 points (3 seeds)"
    assert seeds[3] == "W 5 ± 1.4 (2 seeds); z 11.0 ± 1.4 (2 seeds)" and seeds[0] == "not measured yet"


def test_each_recipe_choice_links_its_sweep_and_says_whether_the_recipe_follows_it():
    from aae.lab.recipes import Choice, Recipe

    recipe = Recipe("r", "a recipe", run={"model": "aae", "corruption_level": 0.5, "hidden": 64, "lr": 0.01},
                    chosen={"corruption_level": Choice("r"), "hidden": Choice("r-size", before=32),
                            "lr": Choice("r-lr")})
    sweeps = {"r": {"recipe": "r", "pick": {"params": {"corruption_level": 0.5}}},
              "r-size": {"recipe": "r", "pick": {"params": {"hidden": 64}}},
              "r-compare": {"recipe": "r", "grid": {"corruption": ["none"]}, "fixed": {},
                            "pick": {"params": {"corruption": "none"}}}}
    follows, changed, missing, measured = report.choice_lines(recipe, sweeps)
    assert follows.startswith("corruption_level = 0.5, chosen on validation ([sweep r](sweeps/r/sweep.json)")
    assert "**changed** from 32" in changed and "sweeps/r-size/sweep.json" in changed
    assert missing.startswith("lr = 0.01: its validation sweep (r-lr) has not finished")
    assert measured.startswith("Measured on validation, not a choice of this recipe: [sweep r-compare]")
    sweeps["r"]["pick"]["params"]["corruption_level"] = 0.3
    assert "but its validation sweep picked 0.3" in report.choice_lines(recipe, sweeps)[0]


def test_every_recipe_follows_the_sweeps_that_chose_its_values_or_says_why_not_yet():
    """A recipe's value named in its [chosen] table is the pick of that sweep's record, once the record exists;
    where it is not, the recipe says why (`pending`), and a `pending` left after the recipe follows fails too."""
    from aae.lab.recipes import all_recipes

    sweeps = report.sweep_records()
    checked = 0
    for recipe in all_recipes():
        for name, choice in recipe.chosen.items():
            if choice.sweep in sweeps:
                follows = sweeps[choice.sweep]["pick"]["params"][name] == recipe.run[name]
                assert follows != bool(choice.pending), (recipe.name, name, choice.pending)
                checked += 1
    assert checked >= 5  # aae-8d's input noise, semi-100's weights and augmentation, cluster-16's


def test_the_smoothness_table_sets_mnist_latent_spaces_side_by_side_smoothest_first():
    def card(kind, ppl=None, ppl_w=None, dataset="mnist", **config):
        metrics = {k: v for k, v in (("ppl", ppl), ("ppl_w", ppl_w)) if v is not None}
        return {"kind": kind, "dataset": {"name": dataset}, "metrics": metrics,
                "config": {"latent_dim": 8, "prior": {"name": "gaussian"}, **config}}

    cards = {"gan": card("gan", 9.6), "style": card("stylegan", 17.3, 5.5, w_dim=128), "vae": card("vae", 11.2),
             "fashion": card("aae", 1.0, dataset="fashion-mnist"),  # another classifier's features: not comparable
             "old": card("aae"),  # measured before path lengths: no row
             "semi": card("semi", 2.0)}  # its paths keep one class: another measure
    figures = {"recipes": {"vae": {"ppl": {"0": 11.0, "1": 12.0, "2": 13.0}},
                           "style": {"ppl": {"0": 17.0, "1": 19.0}, "ppl_w": {"0": 5.0, "1": 6.0}}}}
    rows = report.smoothness(cards, figures)
    assert [row["model"] for row in rows] == ["gan", "vae", "style"]
    over_seeds = "PPL over the recipe's seeds"
    assert rows[1][over_seeds] == "12.0 ± 1.0 (3 seeds)" and rows[0][over_seeds] == "not measured yet"
    assert rows[2][over_seeds] == "18.0 ± 1.4 (2 seeds); in W 5.5 ± 0.71 (2 seeds)"
    assert rows[0]["PPL in W ↓"] == "—" and rows[2]["PPL in W ↓"] == "5.50" and rows[2]["code"].endswith("W 128-D")


def test_a_seeds_record_shows_each_seed_and_says_it_chose_the_shipped_one():
    def trial(seed, err):
        return {"params": {"seed": seed}, "figures": {"val_cluster_error": err}, "train_images": 50_000}

    seeds = {"recipe": "cluster-16", "grid": {}, "fixed": {}, "seeds": [0, 1, 2], "metric": "val_cluster_error",
             "direction": "minimize", "split": "validation", "trials": [trial(0, 0.15), trial(1, 0.06), trial(2, 0.1)],
             "means": [{"params": {}, "mean": 0.103, "seeds": 3}], "pick": {"params": {}, "mean": 0.103}}
    comparison = {**seeds, "recipe": "vae-8d", "fixed": {"epochs": 12}}  # a shorter budget: a measurement only
    text = report.results_document({}, {}, {"c16-seeds": seeds, "vae-short": comparison})
    assert "Its seeds (`aae seeds`), measured on validation, which chose the shipped seed: [sweep c16-seeds]" in text
    assert "Measured on validation, not a choice of this recipe: [sweep vae-short]" in text
    section = text.split("### c16-seeds", 1)[1].split("###", 1)[0]
    assert "| 1 | 0.06 |" in section and "Best on validation: seed 1." in section


def test_the_2d_pair_names_a_leader_only_beyond_two_standard_errors_each_way_a_figure_is_better():
    """Every figure either recipe's seeds have, both models' mean ± std, and which is ahead: the AAE on a higher-is-
    better figure, the VAE on a lower-is-better one, neither within two standard errors, none with one seed."""
    figures = {"recipes": {
        "aae-2d-gaussian": {"knn_accuracy": {"0": 0.82, "1": 0.83, "2": 0.84},  # clearly higher: the AAE
                            "frechet": {"0": 300.0, "1": 310.0, "2": 320.0},  # clearly higher: the VAE (lower)
                            "mmd": {"0": 0.03, "1": 0.04, "2": 0.05},
                            "parzen_ll": {"0": 220.0}},
        "vae-2d": {"knn_accuracy": {"0": 0.79, "1": 0.80, "2": 0.81},
                   "frechet": {"0": 250.0, "1": 255.0, "2": 260.0},
                   "mmd": {"0": 0.035, "1": 0.04, "2": 0.045},
                   "parzen_ll": {"0": 221.0, "1": 222.0, "2": 223.0}}}}
    rows = {row["figure (official test set)"].split(" (")[0].split(" ↑")[0].split(" ↓")[0]: row
            for row in report.two_d_rows(figures)}
    assert rows["kNN accuracy of codes"]["which is ahead"].startswith("AAE, by 3.7 standard errors")
    assert rows["kNN accuracy of codes"]["2-D AAE (mean ± std)"] == "0.83 ± 0.01 (3 seeds)"
    assert rows["Fréchet distance"]["which is ahead"].startswith("VAE, by")
    assert rows["MMD² codes vs prior"]["which is ahead"] == "neither: within two standard errors"
    assert rows["Parzen log-likelihood"]["which is ahead"] == "not shown (fewer than 2 seeds of one)"
    assert "silhouette of codes by class" not in rows  # measured for neither
    summary = report.two_d_summary(report.two_d_rows(figures))
    assert "the VAE is ahead on Fréchet distance (classifier features)," in summary
    assert "the AAE is ahead on kNN accuracy of codes (k=5);" in summary
    assert "the other 1 of the 3 figures compared are within seed noise" in summary
