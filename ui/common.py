"""The pages' shared helpers, split by concern: `ui.caches` (models, data, codes, device, jobs), `ui.widgets`
(model picker, shareable URLs, page header, names), `ui.plots` (digit grids, latent maps), `ui.forms` (forms
generated from config dataclasses) and `ui.live` (the in-browser decoder).

Everything that computes lives in `aae`; these modules only cache what `aae` returns and draw the widgets
every page shares. Pages import them as `from ui import common`.
"""

from ui.caches import *  # noqa: F403
from ui.plots import *  # noqa: F403
from ui.widgets import *  # noqa: F403
