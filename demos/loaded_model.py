"""One model directory, loaded once and ready to generate."""

import json
from pathlib import Path

from .batcher import Batcher

# Batches are padded up to these sizes: each new shape compiles the
# decoding function again (about half a second), so a few sizes serve all.
BATCH_SIZES = (1, 2, 4, 8, 16, 32)


def read_json(path):
    """A JSON file's content, or `{}` when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as file:
            content = json.load(file)
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


class LoadedModel:
    """An `AttentionSeq2SeqLM` loaded from a model directory.

    Each call decodes with the sampler of its `Decoding`, passed to
    `lm.generate(..., sampler=...)` for that call only: the model keeps one
    compiled decoding function per sampler setting, and nothing on it is
    swapped. Concurrent calls with the same `Decoding` are decoded together
    in one `lm.generate` batch (`generate`, through a `Batcher`). The
    heatmap's alignment comes from the same decoding pass
    (`return_alignment=True`).

    Args:
        path: the model directory (written by `keras_attn.training.train`,
            `keras-attn train` or `save_to_preset`).
        task: the task the directory was listed under.
        max_batch: int, the most inputs decoded in one batch.
        max_wait: float, the seconds a request waits for others to join
            its batch.
    """

    def __init__(self, path, task, max_batch=32, max_wait=0.015):
        from keras_attn.data import DIALOGUE_SEPARATOR
        from keras_attn.models import AttentionSeq2SeqLM

        self.path = Path(path)
        self.task = task
        self.lm = AttentionSeq2SeqLM.from_preset(str(self.path))
        self.lm.compile(sampler="greedy")
        self.options = read_json(self.path / "training" / "options.json")
        # No attention: the fixed-context baseline, which has no alignment.
        self.has_attention = self.lm.backbone.attention is not None
        # The turns of context the model was trained with (DailyDialog
        # loader default: 1).
        history = self.options.get("history", 1)
        self.history = history if isinstance(history, int) and history > 0 else 1
        # Joined as `load_dailydialog` joined the training sources.
        self.separator = DIALOGUE_SEPARATOR
        self.batcher = Batcher(
            lambda decoding, texts: self.generate_batch(texts, decoding),
            max_batch=max_batch,
            max_wait=max_wait,
        )

    # === Inputs ===
    def dialogue_source(self, turns):
        """The model input for a conversation, as `load_dailydialog` builds
        the source of a reply: the last `history` turns joined."""
        turns = [turn.strip() for turn in turns if turn and turn.strip()]
        return self.separator.join(turns[-self.history :])

    def source_limit(self):
        """The most source tokens the model reads (without [START], [END])."""
        return self.lm.preprocessor.encoder_sequence_length - 2

    def count_tokens(self, text):
        """How many tokens the model's tokenizer makes of `text`."""
        return len(self.lm.preprocessor.tokenizer([text])[0])

    # === Generation ===
    def generate(self, text, decoding):
        """The output for one input string with a `Decoding`, decoded in a
        batch with the concurrent calls that use the same `Decoding`.

        Returns:
            `(output, alignment)`: the output string and, for a model with
            attention, the alignment dict of `lm.generate(...,
            return_alignment=True)` for it (`"source_tokens"`,
            `"output_tokens"`, `"weights"` of shape `(output_len,
            source_len)`); else None.
        """
        return self.batcher.submit(decoding, text)

    def warm_up(self, decoding, text="a"):
        """Compiles the decoding function of `decoding` for each batch size
        of `BATCH_SIZES` up to the batcher's `max_batch`, so that no request
        waits for it (about half a second each)."""
        for size in BATCH_SIZES:
            if size > self.batcher.max_batch:
                break
            self.generate_batch([text] * size, decoding)

    def generate_batch(self, texts, decoding):
        """`[(output, alignment), ...]` for a list of input strings, decoded
        in one `lm.generate` call.

        The batch is padded (with copies of its last input) up to the next
        of `BATCH_SIZES`, so that a few compiled shapes serve every batch;
        each input is decoded on its own row, so the padding changes no
        output.

        For example, with the shipped translator,
        `model.generate_batch(["Buenos días.", "Buenas noches."], Decoding())`
        gives `[("Good morning.", {...}), ("Good night.", {...})]`.
        """
        texts = list(texts)
        size = next((n for n in BATCH_SIZES if n >= len(texts)), len(texts))
        padded = texts + texts[-1:] * (size - len(texts))
        sampler = decoding.sampler()
        if not self.has_attention:
            outputs = self.lm.generate(padded, sampler=sampler)
            return [(output, None) for output in outputs[: len(texts)]]
        outputs, alignments = self.lm.generate(
            padded, sampler=sampler, return_alignment=True
        )
        return list(zip(outputs, alignments, strict=True))[: len(texts)]
