"""One model directory, loaded once and ready to generate."""

import json
from pathlib import Path


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
    swapped, so requests for one model may run side by side. The heatmap's
    alignment comes from the same decoding pass (`return_alignment=True`).

    Args:
        path: the model directory (written by `keras_attn.training.train`,
            `keras-attn train` or `save_to_preset`).
        task: the task the directory was listed under.
    """

    def __init__(self, path, task):
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
        """The output for one input string with a `Decoding`.

        Returns:
            `(output, alignment)`: the output string and the dict of
            `lm.alignment()` for it (`"source_tokens"`, `"output_tokens"`,
            `"weights"` of shape `(output_len, source_len)`), or None for a
            model without attention.
        """
        sampler = decoding.sampler()
        if not self.has_attention:
            return self.lm.generate([text], sampler=sampler)[0], None
        outputs, alignments = self.lm.generate(
            [text], sampler=sampler, return_alignment=True
        )
        return outputs[0], alignments[0]
