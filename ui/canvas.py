"""The drawing canvas's helpers: the room its toolbar needs on the page, and the Draw a prior page's checks on what
a user hands it, before the core reads it as a prior."""

from __future__ import annotations

import io
from typing import Any

import streamlit as st

# The canvas shows its toolbar (upload, undo, redo, edit, clear) over the 2.65rem above its top edge while the pointer
# is on it: a gap of 1rem between elements, and this much space more, keeps it off the tabs or widgets above.
TOOLBAR_ROOM_PX = 32


def toolbar_room() -> None:
    """Call right before the canvas: room above it for its toolbar."""
    st.space(TOOLBAR_ROOM_PX)


def single_dot(objects: list[dict[str, Any]], brush: float) -> bool:
    """True when the canvas holds only dots: strokes whose extent is no more than the brush (a click, no drag)."""
    if not objects:
        return False
    return all(max(float(o.get("width", 0)) * float(o.get("scaleX", 1)),
                   float(o.get("height", 0)) * float(o.get("scaleY", 1))) <= brush for o in objects)


def readable_image(data: bytes) -> bool:
    """Whether `data` is a picture this app can open (a PNG or JPEG), judged from its header."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.verify()
    except Exception:  # any failure to read it: not a picture for this page
        return False
    return True
