"""Streamlit-only helpers for the pages of Latent Lab (the core lives in `aae`)."""
