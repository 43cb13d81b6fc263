"""Decoding throughput of AttentionSeq2SeqLM: greedy and beam search.

Reference configuration (issue 6): vocabulary 8000, embedding 256, BiGRU
encoder 256 per direction (memory 512), decoder GRU 512, attention units 512;
batch 64, source length 20, 20 decoding steps (no early stop). Weights are
random: speed does not depend on them. Prints the median of `--repeats`
timings after one warm-up call (which compiles).

    KERAS_BACKEND=tensorflow python benchmarks/generate_throughput.py
"""

import argparse
import json
import statistics
import time

import keras
import numpy as np

import keras_attn


def build(attention, cell, vocabulary, embedding, hidden):
    backbone = keras_attn.models.AttentionSeq2SeqBackbone(
        vocabulary_size=vocabulary,
        embedding_dim=embedding,
        hidden_dim=hidden,
        cell=cell,
        attention=attention,
    )
    lm = keras_attn.models.AttentionSeq2SeqLM(backbone, preprocessor=None)
    lm.compile(sampler="greedy")
    return lm


def inputs(batch, source_length, steps, vocabulary, seed=0):
    rng = np.random.default_rng(seed)
    decoder = np.zeros((batch, steps + 1), "int32")
    decoder[:, 0] = 2
    decoder_mask = np.zeros_like(decoder, bool)
    decoder_mask[:, 0] = True
    return {
        "encoder_token_ids": rng.integers(4, vocabulary, (batch, source_length)).astype(
            "int32"
        ),
        "encoder_padding_mask": np.ones((batch, source_length), bool),
        "decoder_token_ids": decoder,
        "decoder_padding_mask": decoder_mask,
    }


def time_call(fn, repeats):
    fn()  # warm-up: tracing and compilation
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attention", default="bahdanau")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--vocabulary", type=int, default=8000)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--beams", type=int, default=5)
    parser.add_argument("--beam-batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    attention = None if args.attention == "none" else args.attention
    lm = build(attention, args.cell, args.vocabulary, args.embedding, args.hidden)
    greedy_inputs = inputs(args.batch, args.length, args.length, args.vocabulary)
    beam_inputs = inputs(args.beam_batch, args.length, args.length, args.vocabulary)
    greedy = time_call(
        lambda: lm.generate(greedy_inputs, stop_token_ids=None), args.repeats
    )
    lm.compile(sampler=keras_attn.samplers.BeamSearchSampler(num_beams=args.beams))
    beam = time_call(
        lambda: lm.generate(beam_inputs, stop_token_ids=None), args.repeats
    )
    result = {
        "backend": keras.backend.backend(),
        "attention": args.attention,
        "cell": args.cell,
        "greedy_batch": args.batch,
        "greedy_seconds": round(greedy, 4),
        "greedy_sentences_per_s": round(args.batch / greedy, 1),
        "greedy_tokens_per_s": round(args.batch * args.length / greedy, 1),
        "beams": args.beams,
        "beam_batch": args.beam_batch,
        "beam_seconds": round(beam, 4),
        "beam_sentences_per_s": round(args.beam_batch / beam, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
