"""Train a small attention model to reverse sequences and show its alignment.

Reversal is the classic task where a fixed-context decoder struggles and an
attention decoder does not: output step t must read source position S-1-t,
so a well-trained model's alignment is the anti-diagonal.

Run: `python examples/reverse_with_attention.py [--epochs N] [--plot FILE.png]`
(or `bash scripts/demo.sh`). Runs on any Keras backend (`KERAS_BACKEND`).
"""

import argparse
import time

import keras
import numpy as np

import keras_attn

VOCAB, START = 12, 1  # 0 pads, 1 starts, 2..11 are symbols


def make_data(rng, count, min_len=8, max_len=14):
    """Random symbol sequences, zero-padded, and their reversals."""
    source = np.zeros((count, max_len), "int32")
    for row, length in enumerate(rng.integers(min_len, max_len + 1, count)):
        source[row, :length] = rng.integers(2, VOCAB, length)
    target = np.zeros_like(source)
    for row in range(count):
        tokens = source[row][source[row] > 0]
        target[row, : len(tokens)] = tokens[::-1]
    decoder_input = np.concatenate(
        [np.full((count, 1), START, "int32"), target[:, :-1]], axis=1
    )
    decoder_input[target == 0] = 0
    return source, decoder_input, target


def build_model(units=64):
    source = keras.Input((None,), dtype="int32", name="source")
    decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
    memory, forward, backward = keras.layers.Bidirectional(
        keras.layers.GRU(units, return_sequences=True, return_state=True)
    )(keras.layers.Embedding(VOCAB, 32, mask_zero=True)(source))
    cell = keras_attn.layers.AttentionDecoderCell(
        keras.layers.GRUCell(2 * units),
        keras_attn.layers.LuongAttention("general"),
        attention_layer_size=2 * units,
        attention_order="luong",
    )
    outputs, alignment = keras_attn.layers.AttentionDecoder(
        cell, return_attention=True
    )(
        keras.layers.Embedding(VOCAB, 32, mask_zero=True)(decoder_input),
        memory=memory,
        initial_state=[keras.layers.Concatenate()([forward, backward])],
    )
    logits = keras.layers.Dense(VOCAB)(outputs)
    return keras.Model([source, decoder_input], [logits, alignment])


def token_accuracy(logits, target):
    mask = target > 0
    return float(((logits.argmax(-1) == target) & mask).sum() / mask.sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--plot", help="write the alignment heatmap to this PNG")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train, test = make_data(rng, 4000), make_data(rng, 200)
    model = build_model()
    model.compile(
        keras.optimizers.Adam(5e-3, clipnorm=1.0),
        loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True), None],
    )
    print(f"backend: {keras.backend.backend()}")
    started = time.perf_counter()
    model.fit(list(train[:2]), train[2], batch_size=64, epochs=args.epochs, verbose=2)
    print(f"trained in {time.perf_counter() - started:.1f} s")
    logits, alignment = model.predict(list(test[:2]), verbose=0)
    print(f"held-out token accuracy: {token_accuracy(logits, test[2]):.3f}")

    length = int((test[0][0] > 0).sum())
    weights = alignment[0, :length, :length]
    print("alignment of the first test example (rows: output, cols: source):")
    for row in weights:
        print("  " + "".join(" .:-=+*#%@"[min(9, int(w * 10))] for w in row))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        figure, axis = pyplot.subplots(figsize=(4, 4))
        axis.imshow(weights, cmap="viridis")
        axis.set_xlabel("source position")
        axis.set_ylabel("output position")
        figure.savefig(args.plot, bbox_inches="tight")
        print(f"heatmap written to {args.plot}")


if __name__ == "__main__":
    main()
