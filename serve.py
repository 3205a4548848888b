"""Latent Lab's server: `streamlit run serve.py` serves the pages of app.py.

It imports the libraries the pages use as it starts, before its first visitor (see ui/preload.py), then serves as
`streamlit run app.py` does; every `--server.*` option of `streamlit run` applies.
"""

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st


@asynccontextmanager
async def preload(_app):
    from ui.preload import import_libraries

    await asyncio.to_thread(import_libraries)
    yield


app = st.App(str(Path(__file__).with_name("app.py")), lifespan=preload)
