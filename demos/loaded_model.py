"""One model directory, loaded once and ready to generate."""

import collections
import inspect
import json
import threading
from pathlib import Path

from demos.decoding import Decoding

# How many sampling settings keep their compiled decoding function per model.
MAX_SAMPLING_SETTINGS = 6


def dialogue_separator():
    """The separator `load_dailydialog` joins a reply's previous turns with.

    keras-attn has no public constant for it, so the demo reads the loader's
    default: the Chat tab must build its input the way the model's training
    sources were built.
    """
    from keras_attn.data import load_dailydialog

    return inspect.signature(load_dailydialog).parameters["separator"].default


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

    Generation is serialised per model with a lock: requests for different
    models run side by side, requests for one model take turns (they would
    compete for the same CPU cores anyway, and the sampler swap below is
    not thread-safe).

    Greedy search is what the model is compiled with. Beam search uses
    `generate(num_beams=...)`, which keeps one compiled function per beam
    size. A top-p sampling setting gets a `keras_hub.samplers.TopPSampler`,
    and its compiled decoding function is kept per setting (the last
    `MAX_SAMPLING_SETTINGS` of them), so that going back to a setting does
    not retrace the decoding loop.

    Args:
        path: the model directory (written by `keras-attn train` or
            `save_to_preset`).
        task: the task the directory was listed under.
    """

    def __init__(self, path, task):
        from keras_attn.models import AttentionSeq2SeqLM

        self.path = Path(path)
        self.task = task
        self.lm = AttentionSeq2SeqLM.from_preset(str(self.path))
        self.lm.compile(sampler="greedy")
        self.options = read_json(self.path / "training" / "options.json")
        config = self.lm.backbone.get_config()
        self.has_attention = config.get("attention") is not None
        # The turns of context the model was trained with (DailyDialog
        # loader default: 1).
        history = self.options.get("history", 1)
        self.history = history if isinstance(history, int) and history > 0 else 1
        self.separator = dialogue_separator()
        self._lock = threading.Lock()
        self._current = Decoding()
        # Decoding -> (sampler, compiled function), most recently used last.
        self._compiled = collections.OrderedDict()

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
        """The model's output for one input string with a `Decoding`."""
        with self._lock:
            if decoding.method == "beam":
                return self.lm.generate([text], num_beams=decoding.beams)[0]
            self._use(decoding)
            return self.lm.generate([text])[0]

    def alignment(self, source, output):
        """The attention weights of (source, output), or None for a model
        without attention (the fixed-context baseline)."""
        if not self.has_attention:
            return None
        with self._lock:
            return self.lm.alignment([source], [output])[0]

    def _use(self, decoding):
        """Puts the sampler and compiled function of `decoding` in place."""
        if decoding == self._current:
            return
        lm = self.lm
        self._compiled[self._current] = (lm.sampler, lm.generate_function)
        self._compiled.move_to_end(self._current)
        if decoding in self._compiled:
            lm.sampler, lm.generate_function = self._compiled.pop(decoding)
        elif decoding.method == "greedy":
            # Not reached in practice (greedy is compiled first and kept);
            # compile() builds a fresh greedy sampler and function.
            lm.compile(sampler="greedy")
        else:
            from keras_hub.samplers import TopPSampler

            # What lm.compile(sampler=...) does, without resetting the
            # compiled greedy and beam functions kept elsewhere.
            lm.sampler = TopPSampler(p=decoding.top_p, temperature=decoding.temperature)
            lm.generate_function = None  # built on the next generate()
        self._current = decoding
        sampling = [key for key in self._compiled if key.method == "sample"]
        for key in sampling[:-MAX_SAMPLING_SETTINGS]:
            del self._compiled[key]
