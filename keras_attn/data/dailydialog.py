"""`load_dailydialog`: reply pairs from the DailyDialog corpus."""

import os
import re
import zipfile

from keras_attn._validation import check_choice
from keras_attn.data._reading import ON_ERROR_MODES
from keras_attn.data._reading import RowErrors
from keras_attn.data._reading import check_file
from keras_attn.data._reading import read_text
from keras_attn.data._reading import read_zip_member
from keras_attn.data.text_pairs import TextPairs

END_OF_UTTERANCE = "__eou__"
# dialogues_train.txt, not dialogues_act_train.txt / dialogues_emotion_*.txt.
_DIALOGUES_FILE = re.compile(r"dialogues_(?!act_|emotion_)[^/]+\.txt")


# Joins the turns of a dialogue source; a chat front end builds its model
# input with the same string.
DIALOGUE_SEPARATOR = " [SEP] "


def load_dailydialog(path, history=1, separator=DIALOGUE_SEPARATOR, on_error="raise"):
    """Loads DailyDialog as (context, reply) pairs.

    Reads an official split zip (`train.zip`, `validation.zip`,
    `test.zip`: the `dialogues_<split>.txt` inside, not the act or emotion
    files) or a `dialogues_*.txt` file itself: one dialogue a line, turns
    separated by `__eou__`. Every turn from the second on is a target; its
    source is the `history` turns before it joined with `separator`.
    Turns are stripped but otherwise left as the corpus has them (with
    DailyDialog's spaced punctuation, e.g. `"Hi , Jim !"`).

    A dialogue with an empty turn or fewer than two turns is a bad row,
    handled as in `load_pairs` (`on_error="skip"` drops the dialogue).

    Args:
        path: str or path-like, the zip or the text file.
        history: positive int, how many previous turns form the source, or
            None for the whole dialogue so far.
        separator: str, put between the turns of the source.
        on_error: `"raise"` (default) or `"skip"`, for bad dialogues.

    Returns:
        A `TextPairs` with one pair per reply.

    Example:
    >>> with open("dialogues_train.txt", "w", encoding="utf-8") as file:
    ...     _ = file.write("Hi! __eou__ Hello. __eou__ How are you? __eou__\\n")
    >>> pairs = keras_attn.data.load_dailydialog("dialogues_train.txt", history=2)
    >>> list(pairs)[-1]
    ('Hi! [SEP] Hello.', 'How are you?')
    """
    check_choice("on_error", on_error, ON_ERROR_MODES)
    if history is not None and (
        isinstance(history, bool) or not isinstance(history, int) or history < 1
    ):
        raise ValueError(
            f"history must be a positive integer or None. Received: history={history!r}"
        )
    if not isinstance(separator, str):
        raise ValueError(f"separator must be a str. Received: separator={separator!r}")
    path = check_file(path)
    if zipfile.is_zipfile(path):
        path, text = read_zip_member(
            path,
            lambda name: _DIALOGUES_FILE.fullmatch(os.path.basename(name)),
            "dialogues_*.txt file",
        )
    else:
        text = read_text(path)
    rows = RowErrors(path, on_error)
    sources, targets = [], []
    dialogues = 0
    for line, content in enumerate(text.split("\n"), start=1):
        if not content.strip():
            continue
        turns = [turn.strip() for turn in content.split(END_OF_UTTERANCE)]
        if not turns[-1]:
            turns.pop()  # the text after the final __eou__
        if len(turns) < 2:
            rows.bad(
                line,
                "fewer than 2 turns",
                f"expected at least 2 turns separated by {END_OF_UTTERANCE}, "
                f"found {len(turns)}",
            )
            continue
        if not all(turns):
            rows.bad(line, "empty turn", f"turn {turns.index('') + 1} is empty")
            continue
        dialogues += 1
        for reply in range(1, len(turns)):
            first = 0 if history is None else max(0, reply - history)
            sources.append(separator.join(turns[first:reply]))
            targets.append(turns[reply])
    rows.finish(dialogues, unit="dialogue")
    return TextPairs(sources, targets, path=path, skipped=dict(rows.skipped))
