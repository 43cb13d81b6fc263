"""Alignment heatmaps for the page: one square cell per token pair, drawn
with Pillow.

The page shows one heatmap per answer, so under load it is drawn as often
as a sentence is decoded: Pillow draws one in a few milliseconds, where a
matplotlib figure takes 50-250 ms of text layout and holds the interpreter
meanwhile. The colours are matplotlib's viridis, as in
`keras_attn.plotting.plot_alignment`.
"""

import functools
import math
import os
import threading

# A fixed size per token up to the widest grid, then smaller cells (and
# type) down to a floor, beyond which the grid grows again.
CELL_PX = 32
MIN_CELL_PX = 12
MAX_GRID_PX = 2000  # the most pixels the cells take before they shrink
FONT_PX = 14
MIN_FONT_PX = 8
MARGIN = 10  # around everything
GAP = 6  # between the grid and its labels
COLORBAR_PX = 16
COLORMAP = "viridis"
_FONTS = threading.local()  # size -> font, per thread


def cell_size(count):
    """`(cell pixels, font pixels, label step)` for an axis of `count`
    tokens: the side of a cell, the type size of the labels, and every how
    many tokens a label is drawn (1, each, unless the type would not fit)."""
    count = max(int(count), 1)
    cell = max(MIN_CELL_PX, min(CELL_PX, MAX_GRID_PX // count))
    font = max(MIN_FONT_PX, round(FONT_PX * cell / CELL_PX))
    return cell, font, max(1, math.ceil(font * 1.1 / cell))


def draw_heatmap(pair):
    """The alignment `pair` as an image, and where each label went.

    Source tokens run across (labels below the grid, read upwards), output
    tokens down (labels at the left), and a colour bar from 0 to 1 at the
    right. Each token pair is a square cell (`cell_size`), so the image
    grows with the source and output lengths; every label lies inside the
    image and outside the grid. Tokens are shown as the model's tokenizer
    made them (`##ola` continues a word), one label per cell.

    Args:
        pair: a dict with `"source_tokens"`, `"output_tokens"` and
            `"weights"`, an array `(output_len, source_len)` of values in
            [0, 1], as `lm.generate(..., return_alignment=True)` gives per
            input.

    Returns:
        `(image, boxes)`: an RGB `PIL.Image.Image`, and a dict of pixel
        boxes `(left, top, right, bottom)`: `"grid"`, `"source"` and
        `"output"` (one per drawn label, in order), `"colorbar"` and
        `"ticks"` (its three labels).

    Example:
    >>> import numpy as np
    >>> image, boxes = draw_heatmap({"source_tokens": ["[START]", "hola", "[END]"],
    ...     "output_tokens": ["hello", "[END]"], "weights": np.ones((2, 3)) / 3})
    >>> image.mode, len(boxes["source"]), len(boxes["output"])
    ('RGB', 3, 2)
    """
    import numpy as np
    from PIL import Image
    from PIL import ImageDraw

    weights = np.asarray(pair["weights"], dtype="float32")
    sources = [str(t) for t in pair["source_tokens"]]
    outputs = [str(t) for t in pair["output_tokens"]]
    if weights.shape != (len(outputs), len(sources)):
        raise ValueError(
            f"`weights` must have shape (output_len, source_len) = "
            f"({len(outputs)}, {len(sources)}). Received: {weights.shape}"
        )
    across, across_font, across_step = cell_size(len(sources))
    down, down_font, down_step = cell_size(len(outputs))
    source_font, output_font = _font(across_font), _font(down_font)
    tick_font = _font(12)
    shown_sources = list(enumerate(sources))[::across_step]
    shown_outputs = list(enumerate(outputs))[::down_step]
    # Label extents, measured with the fonts that draw them.
    output_width = max((_width(output_font, t) for _, t in shown_outputs), default=0)
    source_height = max((_width(source_font, t) for _, t in shown_sources), default=0)
    tick_width = _width(tick_font, "1.0")
    grid_width, grid_height = across * len(sources), down * len(outputs)
    left = MARGIN + output_width + GAP
    top = MARGIN + tick_font.size  # room for the colour bar's top label
    grid = (left, top, left + grid_width, top + grid_height)
    bar_left = grid[2] + 2 * GAP
    width = bar_left + COLORBAR_PX + GAP + tick_width + MARGIN
    height = grid[3] + GAP + source_height + MARGIN
    image = Image.new("RGB", (width, height), "white")

    # The cells: weights to colours, then each scaled up to a square.
    table = _colors()
    levels = np.clip(np.nan_to_num(weights) * 255 + 0.5, 0, 255).astype("uint8")
    cells = Image.fromarray(table[levels]).resize(
        (grid_width, grid_height), Image.Resampling.NEAREST
    )
    image.paste(cells, grid[:2])
    draw = ImageDraw.Draw(image)
    boxes = {"grid": grid, "source": [], "output": []}
    for index, token in shown_outputs:
        middle = top + index * down + down / 2
        x = left - GAP
        draw.text((x, middle), token, fill="black", font=output_font, anchor="rm")
        boxes["output"].append(draw.textbbox((x, middle), token, output_font, "rm"))
    for index, token in shown_sources:
        # Drawn across on its own strip, then turned to read upwards.
        label = Image.new("L", (_width(source_font, token) + 2, across), 0)
        ImageDraw.Draw(label).text(
            (label.width - 1, across / 2),
            token,
            fill=255,
            font=source_font,
            anchor="rm",
        )
        label = label.rotate(90, expand=True)
        x = left + index * across
        y = grid[3] + GAP
        image.paste((0, 0, 0), (x, y), label)
        boxes["source"].append((x, y, x + label.width, y + label.height))

    # The colour bar, 1 at the top, with its three labels.
    bar = (bar_left, top, bar_left + COLORBAR_PX, grid[3])
    ramp = table[np.linspace(255, 0, max(bar[3] - bar[1], 1)).astype("uint8")]
    strip = Image.fromarray(ramp[:, None, :]).resize(
        (COLORBAR_PX, bar[3] - bar[1]), Image.Resampling.NEAREST
    )
    image.paste(strip, bar[:2])
    draw.rectangle(bar, outline="black")
    boxes["colorbar"] = bar
    boxes["ticks"] = []
    for value in (1.0, 0.5, 0.0):
        y = bar[3] - value * (bar[3] - bar[1])
        x = bar[2] + GAP
        draw.line((bar[2], y, bar[2] + 3, y), fill="black")
        draw.text((x, y), f"{value:.1f}", fill="black", font=tick_font, anchor="lm")
        boxes["ticks"].append(draw.textbbox((x, y), f"{value:.1f}", tick_font, "lm"))
    return image, boxes


def render_heatmap(pair):
    """The heatmap of `pair` (see `draw_heatmap`) as a PIL image."""
    return draw_heatmap(pair)[0]


def _width(font, text):
    return math.ceil(font.getlength(text))


def _font(size):
    """DejaVu Sans (shipped with matplotlib) at `size` pixels, or Pillow's
    own font where it is missing; one per thread, as a FreeType face must
    not draw in two threads at once."""
    fonts = _FONTS.__dict__
    if size not in fonts:
        fonts[size] = _load_font(size)
    return fonts[size]


def _load_font(size):
    from PIL import ImageFont

    try:
        import matplotlib

        path = os.path.join(matplotlib.get_data_path(), "fonts/ttf/DejaVuSans.ttf")
        return ImageFont.truetype(path, size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


@functools.lru_cache(maxsize=1)
def _colors():
    """The colour map as a `(256, 3)` uint8 table."""
    import numpy as np
    from matplotlib import colormaps

    return (colormaps[COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255).astype("uint8")
