"""Analytic FLOP counts of the configurations `benchmarks/speed.py` measures.

The achieved GFLOP/s the report prints are these counts divided by the
measured times; the counts depend only on the configuration and the sizes,
never on a run.
"""


def forward_flops(config, sizes, source_length, steps, rows, decoding=False):
    """Floating-point operations of one forward pass, counted analytically.

    A multiply-add counts 2; element-wise work (gates, tanh, softmax, adds,
    masking) and the embeddings are left out. With V the vocabulary, E the
    embedding, H the decoder (= memory M = 2 x 256 encoder) size, A the
    attention units, S the source length and T the decoded steps:

        encoder, per source position:  2 directions x 2 x 3(H/2)(E + H/2)
        keys, per source position:     2MA (bahdanau, concat, additive),
                                       2MH (general), 0 (dot)
        decoder GRU, per step:         2 x 3H(E + F + H), F the fed-in size:
                                       M (Bahdanau order), H (input
                                       feeding), 0 (otherwise)
        attention, per step:           2HA + 2SA (additive scores),
                                       2SM (dot), 2SH (general), then the
                                       context 2SM
        attentional output, per step:  2(H + M)H
        output projection, per step:   2HV

    The tutorial's cross-attention is `MultiHeadAttention` with one head of
    size A: query, key, value and output projections (2HA + 2 x 2MA per
    source position + 2AH), scores 2SA and context 2SA; when decoding, its
    key and value projections run again at every step. Positions are the
    padded ones: padding is computed like any other position.

    Args:
        config: a config dict of `speed_configs.parse_config`.
        sizes: the sizes dict (`speed_configs.REFERENCE` or `SMOKE`).
        source_length: source positions per sequence (S).
        steps: decoder steps per sequence (T).
        rows: sequences (batch rows; beams count as rows).
        decoding: True for step-by-step decoding, which costs the tutorial
            its key and value projections again at every step.

    Returns:
        FLOPs for `rows` sequences of `source_length` source positions and
        `steps` decoder steps.
    """
    vocab, embed, hidden = sizes["vocabulary"], sizes["embedding"], sizes["hidden"]
    units, mem, src = sizes["attention_units"], sizes["hidden"], source_length
    half = hidden // 2
    encoder = 2 * 2 * 3 * half * (embed + half)
    output = 2 * hidden * vocab
    kind, attention, order = config["kind"], config["attention"], config["order"]
    keys = 0
    if kind == "tutorial":
        per_step = (
            2 * 3 * hidden * (embed + hidden)
            + 2 * hidden * units
            + 2 * src * units * 2
            + 2 * units * hidden
        )
        keys = 2 * 2 * mem * units
        if decoding:  # K and vocab are projected again at every step
            per_step += 2 * 2 * src * mem * units
        per_step += output
    elif kind == "additive":
        keys = 2 * mem * units
        per_step = (
            2 * 3 * hidden * (embed + hidden)
            + 2 * hidden * units
            + 2 * src * units
            + 2 * src * mem
        )
        per_step += 2 * (hidden + mem) * hidden + output
    elif attention is None:
        per_step = 2 * 3 * hidden * (embed + hidden) + output
    else:
        feed = {"bahdanau": mem, "luong": hidden, "luong-nofeed": 0}[order]
        per_step = 2 * 3 * hidden * (embed + feed + hidden)
        if attention in ("bahdanau", "luong-concat"):
            keys = 2 * mem * units
            per_step += 2 * hidden * units + 2 * src * units
        elif attention == "luong-general":
            keys = 2 * mem * hidden
            per_step += 2 * src * hidden
        else:
            per_step += 2 * src * mem
        per_step += 2 * src * mem + 2 * (hidden + mem) * hidden + output
    return rows * (src * (encoder + keys) + steps * per_step)
