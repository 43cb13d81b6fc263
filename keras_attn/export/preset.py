"""Export of a trained model as a compact preset for shipping."""

import os
import shutil

import numpy as np

from keras_attn import _files

WEIGHTS_FILE = "model.weights.h5"
STATE_DIR = _files.STATE_DIR


def export_preset(lm, path, float16=False, overwrite=False, training_records=None):
    """Writes `lm` as a preset directory, optionally with half-size weights.

    A preset is what `AttentionSeq2SeqLM.from_preset` loads on any backend.
    With `float16=True` every float32 array in `model.weights.h5` is stored
    as float16: the file halves, and loading casts the values back into the
    model's float32 variables (a relative rounding error of at most 2**-11
    per weight; the model card of a shipped model reports its metrics
    measured after this step).

    The directory is written under a temporary name and moved into place
    when complete. An existing `path` is replaced only with `overwrite`, and
    only if keras-attn wrote it (a preset or a training run whose every
    entry is one keras-attn writes; see `keras_attn._files`); anything else,
    and an existing file, is a `FileExistsError` naming it, with nothing
    touched.

    Args:
        lm: an `AttentionSeq2SeqLM`.
        path: the directory to write.
        float16: bool, store the weights as float16.
        overwrite: bool, replace a preset or run keras-attn wrote.
        training_records: optional model directory (a run, its
            `training/last`, or a preset exported from a run) whose recorded
            `options.json` and `state.json` (the task, how it was trained)
            go into the preset's `training/`; the run's checkpoints do not.

    Returns:
        `path`.

    Example:
    >>> import os, tempfile
    >>> preprocessor = keras_attn.models.AttentionSeq2SeqPreprocessor.from_corpus(
    ...     ["hola"], ["hello"], vocabulary_size=40)
    >>> lm = keras_attn.models.AttentionSeq2SeqLM(
    ...     keras_attn.models.AttentionSeq2SeqBackbone(
    ...         vocabulary_size=preprocessor.tokenizer.vocabulary_size(),
    ...         embedding_dim=8, hidden_dim=8),
    ...     preprocessor)
    >>> path = export_preset(lm, os.path.join(tempfile.mkdtemp(), "shipped"),
    ...     float16=True)
    >>> sorted(os.listdir(path))[:3]
    ['assets', 'config.json', 'metadata.json']
    """
    path = os.fspath(path)
    records = _files.records_dir(training_records) if training_records else None

    def write(staging):
        lm.save_to_preset(staging)
        if float16:
            _halve_weights(os.path.join(staging, WEIGHTS_FILE))
        for name in ("options.json", "state.json"):
            if records and os.path.isfile(os.path.join(records, name)):
                os.makedirs(os.path.join(staging, STATE_DIR), exist_ok=True)
                shutil.copyfile(
                    os.path.join(records, name), os.path.join(staging, STATE_DIR, name)
                )

    return _files.write_directory(path, write, overwrite=overwrite)


def _halve_weights(path):
    import h5py

    halved = path + ".half"
    with h5py.File(path, "r") as source, h5py.File(halved, "w") as target:
        _copy_group(source, target)
    os.replace(halved, path)


def _copy_group(source, target):
    for key, value in source.attrs.items():
        target.attrs[key] = value
    for name, item in source.items():
        if isinstance(item, type(source)) or hasattr(item, "keys"):
            _copy_group(item, target.create_group(name))
            continue
        array = item[()]
        if isinstance(array, np.ndarray) and array.dtype == np.float32:
            array = array.astype(np.float16)
        dataset = target.create_dataset(name, data=array)
        for key, value in item.attrs.items():
            dataset.attrs[key] = value
