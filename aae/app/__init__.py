"""What the app's pages ask of the core: training jobs in worker processes, exploring a model's latent space,
projections of codes, digits drawn or uploaded, and the style space of a StyleGAN. No Streamlit here."""
