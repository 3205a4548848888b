"""The machine-learning core: data, priors, models, training, checkpoints and metrics. Nothing here knows the
app, the command line or the lab's recipes."""
