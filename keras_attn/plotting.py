"""Alignment heatmaps: which source tokens each output token attended to.

matplotlib is imported only when a heatmap is drawn: `import keras_attn`
never loads it, and it is needed only by those who plot.
"""


def plot_alignment(pair, path=None, title=None):
    """Draws one alignment as a heatmap (source across, output down).

    The figure is made without `pyplot`, so drawing changes no global
    matplotlib state (backend, current figure) and is safe from several
    threads; in a notebook the returned figure shows as it is.

    Args:
        pair: one item of `AttentionSeq2SeqLM.alignment(...)`: a dict with
            `"source_tokens"`, `"output_tokens"` and `"weights"`
            `(output_len, source_len)`.
        path: optional file to write (`.png`, `.svg`, `.pdf`).
        title: optional title.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> pair = {
    ...     "source_tokens": ["hola", "mundo"],
    ...     "output_tokens": ["hello", "world"],
    ...     "weights": np.array([[0.9, 0.1], [0.2, 0.8]]),
    ... }
    >>> figure = keras_attn.plotting.plot_alignment(pair, "alignment.png")
    >>> [label.get_text() for label in figure.axes[0].get_xticklabels()]
    ['hola', 'mundo']
    """
    from matplotlib.figure import Figure

    weights = pair["weights"]
    sources, outputs = pair["source_tokens"], pair["output_tokens"]
    if weights.shape != (len(outputs), len(sources)):
        raise ValueError(
            f"`weights` must have shape (output_len, source_len) = "
            f"({len(outputs)}, {len(sources)}). Received: {weights.shape}"
        )
    width = min(16, 1.5 + 0.45 * len(sources))
    height = min(16, 1.5 + 0.4 * len(outputs))
    figure = Figure(figsize=(width, height), dpi=100)
    axis = figure.subplots()
    image = axis.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(len(sources)), sources, rotation=60, ha="right")
    axis.set_yticks(range(len(outputs)), outputs)
    axis.set_xlabel("source")
    axis.set_ylabel("output")
    if title:
        axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.04)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure
