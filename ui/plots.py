"""Images and plots every page shares: digit grids (with row and column labels), one digit, latent maps.

Part of the pages' shared helpers (imported through `ui.common`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from ui.caches import class_names, page_dataset


def grid_image(images: torch.Tensor, *, nrow: int = 10, scale: int = 3, row_labels: list[str] | None = None,
               col_labels: list[str] | None = None) -> np.ndarray:
    """A grid of images as a uint8 array, upscaled with nearest neighbours so pixels stay sharp; with labels,
    a white margin on the left names each row and one on top names each column."""
    from aae.app.explore import image_grid

    grid = image_grid(images, nrow=nrow)
    grid = (np.kron(grid, np.ones((scale, scale), dtype=np.float32)) * 255).round().astype(np.uint8)
    if row_labels is None and col_labels is None:
        return grid
    return label_grid(grid, scale=scale, rows=row_labels or [], cols=col_labels or [])


def label_grid_font_paths() -> list[str]:
    """Fonts with the glyphs labels use (×, →, ψ): DejaVu Sans from the system, else matplotlib's copy."""
    paths = ["DejaVuSans.ttf"]  # Pillow looks in the system's font folders
    try:
        import matplotlib

        paths.append(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"))
    except ImportError:
        pass
    return paths


def label_font(size: int):
    """DejaVu Sans at `size` where there is one, else Pillow's own font."""
    from PIL import ImageFont

    for path in label_grid_font_paths():
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def label_grid(grid: np.ndarray, *, scale: int, rows: list[str], cols: list[str]) -> np.ndarray:
    """A `grid_image` (uint8) with row names in a left margin and column names in a top margin, centred on
    the cells (28-pixel images with 2-pixel borders, `scale` times)."""
    from PIL import Image, ImageDraw

    cell, pad = (28 + 2) * scale, 2 * scale

    font = label_font(max(12, cell // 4))
    if "DejaVu" not in " ".join(font.getname()):  # Pillow's own font has no ×: "8×8" would show a box
        rows, cols = [t.replace("×", "x") for t in rows], [t.replace("×", "x") for t in cols]
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    left = (max((measure.textlength(t, font=font) for t in rows), default=0) + 12) if rows else 0
    top = (font.size + 10) if cols else 0
    canvas = Image.new("L", (grid.shape[1] + int(left), grid.shape[0] + top), 255)
    canvas.paste(Image.fromarray(grid), (int(left), top))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(rows):
        y = top + pad + i * cell + cell // 2
        draw.text((int(left) - 6, y), text, fill=0, font=font, anchor="rm")
    for j, text in enumerate(cols):
        x = int(left) + pad + j * cell + cell // 2
        draw.text((x, top - 4), text, fill=0, font=font, anchor="mb")
    return np.asarray(canvas)


def digit_image(image: torch.Tensor | np.ndarray, *, scale: int = 8) -> np.ndarray:
    """One 28×28 image as an upscaled uint8 array."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = array.reshape(28, 28)
    return (np.kron(np.clip(array, 0, 1), np.ones((scale, scale))) * 255).round().astype(np.uint8)


def thumbnail(array: np.ndarray, side: int = 336) -> np.ndarray:
    """A 2-D image in [0, 1] as a `side` × `side` RGBA uint8 square, its longer edge filling the square at its true
    aspect ratio, transparent around it: a row of them has one height whatever each image's shape. Enlarged with
    nearest neighbours, so pixels stay sharp; shrunk by averaging."""
    from PIL import Image

    a = np.clip(np.asarray(array, dtype=np.float32), 0.0, 1.0)
    height, width = a.shape
    fit = side / max(height, width)
    grey = Image.fromarray((a * 255).round().astype(np.uint8)).resize(
        (max(1, round(width * fit)), max(1, round(height * fit))), Image.NEAREST if fit >= 1 else Image.BOX)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(grey.convert("RGBA"), ((side - grey.width) // 2, (side - grey.height) // 2))
    return np.asarray(square)


# -- latent maps ------------------------------------------------------------------------------

def add_digit_traces(figure, points: np.ndarray, labels: np.ndarray, *, indices: np.ndarray | None = None,
                     opacity: float = 0.6, dataset: str | None = None, webgl: bool = True,
                     legend_group: str | None = None, legend_title: str | None = None) -> None:
    """One scatter trace per digit, in the colours every page uses; hover shows the digit, its test index
    (`indices` into the picked model's test set, aligned with `points`; default 0..N-1) and, on a page that
    called `ui.hover.enable`, the test digit's image. `webgl=False` draws SVG, which stays under traces added
    later (WebGL draws above every SVG trace); `legend_group` groups the traces in the legend under `legend_title`."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    indices = np.arange(len(labels)) if indices is None else np.asarray(indices)
    names = class_names()  # digits, or Fashion-MNIST's garments for a model trained on those
    for digit in range(10):
        mask = labels == digit
        figure.add_trace((go.Scattergl if webgl else go.Scatter)(
            x=points[mask, 0], y=points[mask, 1], mode="markers",
            legendgroup=legend_group, legendgrouptitle_text=legend_title,
            name=names[digit] if names[digit] == str(digit) else f"{digit} {names[digit]}",
            marker={"size": 3, "color": qualitative.T10[digit], "opacity": opacity},
            customdata=np.stack([labels[mask], indices[mask]], axis=1).tolist(),  # a list: clicks return it
            hovertemplate="digit %{customdata[0]} · test #%{customdata[1]}<extra></extra>",
            meta=test_digits_meta(dataset),
        ))


def test_digits_meta(dataset: str | None = None) -> str:
    """The mark of a trace whose points are test digits of `dataset` (default: the picked model's) with their test
    index in customdata[1]: `ui.hover` shows those digits' images on hover."""
    from ui.hover import META_PREFIX

    return META_PREFIX + (dataset or page_dataset())


def show_clicked_digit(event, model, codes: np.ndarray, images: torch.Tensor) -> int | None:
    """Under a latent map drawn by `add_digit_traces` with on_select: the clicked test digit beside what `model`
    decodes from its (full) code. Returns the digit's test index, or None (with a hint) before any click."""
    points = event["selection"]["points"] if event else []
    if not points or "customdata" not in points[0]:
        st.caption("Click a point to see that test image and what the model decodes from its code.")
        return None
    label, index = (int(v) for v in points[0]["customdata"][:2])
    decoded = model.decode(torch.from_numpy(np.asarray(codes[index], dtype=np.float32))[None])[0]
    left, right = st.columns(2)
    left.image(digit_image(images[index], scale=4), caption=f"test #{index} ({class_names()[label]})")
    right.image(digit_image(decoded, scale=4), caption="decoded from its code")
    return index


def prior_regions(prior, extent: float, resolution: int = 100, *, share: float = 0.75) -> np.ndarray | None:
    """For a prior with one part per digit (`supports_labels`: the mixture, the swiss roll, a drawing in digits'
    colours), the digit whose part each cell of the `resolution`² grid over [−extent, extent]² lies in, indexed
    [y, x] with y increasing as Prior.density_grid gives it: the digit that has at least `share` of the cell's
    draws, −1 where none has (ink the digits share) or where no draw fell. None for a prior without parts."""
    if not prior.supports_labels:
        return None
    per_digit = 10_000
    labels = torch.arange(10).repeat_interleave(per_digit)
    draws = prior.sample(len(labels), labels=labels, generator=torch.Generator().manual_seed(0))[:, :2].float()
    cell = ((draws + extent) / (2 * extent) * resolution).floor().long()
    inside = ((cell >= 0) & (cell < resolution)).all(dim=1)
    counts = torch.zeros(10, resolution * resolution)
    counts.index_put_((labels[inside], cell[inside, 1] * resolution + cell[inside, 0]), torch.ones(int(inside.sum())),
                      accumulate=True)
    # A 3 × 3 box over the counts: a cell no draw fell in, amid a digit's part, is still that digit's.
    counts = torch.nn.functional.avg_pool2d(counts.reshape(10, 1, resolution, resolution), 3, stride=1, padding=1,
                                            count_include_pad=False).reshape(10, resolution, resolution)
    totals = counts.sum(0)
    best, digit = counts.max(0)
    owned = (totals > 0) & (best >= share * totals)
    return torch.where(owned, digit, torch.full_like(digit, -1)).numpy()


def latent_frame_figure(prior, frame=None, *, title: str, disc: bool = False, dataset: str | None = None):
    """The prior's density as a grey map and, with a LatentFrame (aae.app.explore), the codes of its test digits
    over it and (`disc`) the discriminator's D(z) as contours: the live view of q(z) meeting p(z). A prior with one
    part per digit is tinted in the digits' colours, with a legend of which digit has which colour."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    extent = frame.extent if frame is not None else prior.extent() * 1.15
    xs, ys, density = prior.density_grid(extent=extent, resolution=100)
    fig = go.Figure(go.Heatmap(x=xs.numpy(), y=ys.numpy(), z=density.numpy(), colorscale="Greys", showscale=False,
                               hoverinfo="skip", zmin=0, zmax=1.6))
    regions = prior_regions(prior, extent, resolution=len(xs))
    if regions is not None:  # each digit's part of the prior in the digit's colour, over its density
        tint = np.where((regions >= 0) & (density.numpy() > 0), regions, np.nan).astype(float)
        scale = [[bound, colour] for digit, colour in enumerate(qualitative.T10[:10])
                 for bound in (digit / 10, (digit + 1) / 10)]
        fig.add_trace(go.Heatmap(x=xs.numpy(), y=ys.numpy(), z=tint, colorscale=scale, zmin=-0.5, zmax=9.5,
                                 opacity=0.55 if frame is None else 0.3,  # lighter under the codes' dots
                                 showscale=False, hoverinfo="skip", name="the prior's parts"))
    if frame is not None and disc and frame.disc is not None:
        axis = np.linspace(-extent, extent, frame.disc.shape[0])
        fig.add_trace(go.Contour(x=axis, y=axis, z=frame.disc.numpy(), colorscale="RdBu", opacity=0.45,
                                 contours={"start": 0, "end": 1, "size": 0.1}, name="D(z)",
                                 colorbar={"title": "D(z)", "len": 0.6}, hovertemplate="D(z) %{z:.2f}<extra></extra>"))
    if frame is not None:
        # A frame's codes are of the first test digits of the job's dataset, in order.
        add_digit_traces(fig, frame.codes.numpy(), frame.labels.numpy(), opacity=0.75, dataset=dataset)
    elif regions is not None:  # the legend's entries: one swatch per digit with a part of its own
        for digit in sorted({int(d) for d in np.unique(regions) if d >= 0}):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{digit}",
                                     marker={"size": 10, "symbol": "square", "color": qualitative.T10[digit]}))
    legend = regions is not None
    fig.update_layout(title=title, height=470 if legend else 420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      showlegend=legend, legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0,
                                                 "title": {"text": "digit"}, "itemsizing": "constant"},
                      xaxis={"range": [-extent, extent], "title": "z1", "constrain": "domain"},
                      yaxis={"range": [-extent, extent], "title": "z2", "scaleanchor": "x"})
    return fig


def run_downloads(job, frames, *, key: str, what: str = "the run") -> dict[str, bytes | None]:
    """GIF and MP4 downloads of a finished 2-D run's LatentFrames (`frames_gif` / `frames_mp4`: the codes
    over the prior, the decoded manifold beside them), made once per run and kept in st.session_state[key]."""
    from aae.app.explore import frames_gif, frames_mp4
    from aae.core.priors import make_prior

    made = (job.name, len(frames))
    held = st.session_state.get(key)
    if held is None or held["of"] != made:
        _, _, density = make_prior(job.info.model_config.prior, 2).density_grid(extent=frames[0].extent, resolution=100)
        held = {"of": made, "gif": frames_gif(frames, density), "mp4": None, "problem": None}
        try:
            held["mp4"] = frames_mp4(frames, density)
        except RuntimeError as problem:
            held["problem"] = str(problem)
        st.session_state[key] = held
    gif_column, mp4_column = st.columns(2)
    gif_column.download_button(f"Download {what} as a GIF", held["gif"], file_name=f"{job.name}.gif",
                               mime="image/gif", key=f"{key}_gif")
    if held["mp4"] is not None:
        mp4_column.download_button("… or as an MP4", held["mp4"], file_name=f"{job.name}.mp4", mime="video/mp4",
                                   key=f"{key}_mp4")
    else:
        mp4_column.caption(f"No MP4: {held['problem']}")
    return held

