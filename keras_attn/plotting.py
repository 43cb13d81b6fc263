"""Alignment heatmaps: which source tokens each output token attended to."""


def plot_alignment(pair, path=None, title=None):
    """Draws one alignment as a heatmap (source across, output down).

    Args:
        pair: one item of `AttentionSeq2SeqLM.alignment(...)`: a dict with
            `"source_tokens"`, `"output_tokens"` and `"weights"`
            `(output_len, source_len)`.
        path: optional file to write (`.png`, `.svg`, `.pdf`).
        title: optional title.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> pair = lm.alignment(["hola mundo"], ["hello world"])[0]
    >>> figure = keras_attn.plotting.plot_alignment(pair, "alignment.png")
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed, also on servers
    from matplotlib import pyplot

    weights = pair["weights"]
    sources, outputs = pair["source_tokens"], pair["output_tokens"]
    if weights.shape != (len(outputs), len(sources)):
        raise ValueError(
            f"`weights` must have shape (output_len, source_len) = "
            f"({len(outputs)}, {len(sources)}). Received: {weights.shape}"
        )
    width = min(16, 1.5 + 0.45 * len(sources))
    height = min(16, 1.5 + 0.4 * len(outputs))
    figure, axis = pyplot.subplots(figsize=(width, height), dpi=100)
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
        pyplot.close(figure)
    return figure
