"""Export of a trained model as a compact preset for shipping."""

import os
import shutil
import tempfile

import numpy as np

WEIGHTS_FILE = "model.weights.h5"


def export_preset(lm, path, float16=False, overwrite=False):
    """Writes `lm` as a preset directory, optionally with half-size weights.

    A preset is what `AttentionSeq2SeqLM.from_preset` loads on any backend.
    With `float16=True` every float32 array in `model.weights.h5` is stored
    as float16: the file halves, and loading casts the values back into the
    model's float32 variables (a relative rounding error of at most 2**-11
    per weight; the model card of a shipped model reports its metrics
    measured after this step).

    Args:
        lm: an `AttentionSeq2SeqLM`.
        path: the directory to write; it must not exist unless `overwrite`.
        float16: bool, store the weights as float16.
        overwrite: bool, replace an existing directory.

    Returns:
        `path`.

    Example:
    >>> export_preset(lm, "saved_models/translation/spa-eng", float16=True)
    """
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path!r} exists. Pass overwrite=True (--overwrite) to replace it."
        )
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".exporting-")
    # mkdtemp makes the directory private (0700); a preset is for sharing.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        lm.save_to_preset(staging)
        if float16:
            _halve_weights(os.path.join(staging, WEIGHTS_FILE))
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


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
