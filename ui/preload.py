"""The libraries and shared modules the pages use, imported once per server process.

`streamlit run serve.py` imports them as the server starts, before it takes its first visitor: the first page
opened is then as quick as any later one, and the server's size before a visit is already the size of what it
runs on (PyTorch alone is about half a gigabyte resident). `app.py` calls the same function, which is a no-op
there once the server has run it (and which imports them under `streamlit run app.py` or the test runtime).
"""

from __future__ import annotations

import importlib
import threading

# What the pages import, found by opening every page and listing the packages that were new (a test repeats it).
# LIBRARIES need no Streamlit session, and are imported as the server starts; COMPONENTS register Streamlit
# components, which only a running app can do, and are imported by the first session.
LIBRARIES = ("numpy", "torch", "safetensors.torch", "pandas", "pyarrow", "scipy.special", "scipy.linalg",
             "scipy.optimize", "scipy.sparse", "scipy.spatial", "matplotlib", "plotly.express", "plotly.graph_objects",
             "plotly.io", "plotly.offline", "plotly.tools", "PIL.Image", "PIL.ImageDraw", "PIL.ImageFont",
             "aae.app.explore", "aae.app.jobs", "aae.app.projections", "aae.app.estimates", "aae.app.digits",
             "aae.app.style_space")
COMPONENTS = ("streamlit_drawable_canvas", "ui.common", "ui.canvas", "ui.forms", "ui.hover", "ui.live", "ui.plots")
# Imported where they are used, not preloaded: the projections (scikit-learn's PCA and t-SNE, umap-learn) run in a
# process of their own, and UMAP's numba alone would cost every server 120 MB; the video writer only when a user
# asks for a video.
ON_DEMAND = ("sklearn", "umap", "threadpoolctl", "imageio_ffmpeg")

_lock = threading.Lock()
_imported: set[str] = set()


def _import_once(names: tuple[str, ...]) -> bool:
    # Two first visits importing the same modules at one moment broke both (pandas half-initialised inside plotly;
    # the live decoder's component registered twice): one caller imports while any other waits.
    with _lock:
        for name in names:
            if name not in _imported:
                importlib.import_module(name)
                _imported.add(name)
    return True


def import_libraries() -> bool:
    """LIBRARIES, once per process: what the server imports as it starts."""
    return _import_once(LIBRARIES)


def import_shared_modules() -> bool:
    """LIBRARIES and COMPONENTS, once per process: what a session needs before any page runs. COMPONENTS only where
    Streamlit runs an app (a server, or its test runtime): app.py run as a plain script (as a process started with
    multiprocessing's spawn runs its parent's main file) cannot register components."""
    from streamlit import runtime

    return _import_once((*LIBRARIES, *COMPONENTS) if runtime.exists() else LIBRARIES)
