"""Writing and replacing output directories: the one place that does it.

Two rules hold for every directory keras-attn writes (training runs,
presets, SavedModels):

- **Atomic writes.** A directory is written under a temporary name next to
  its destination and moved into place when it is complete
  (`write_directory`); a directory that is saved again and again (the best
  model of a run, its last epoch) is updated one entry at a time, each
  entry moved into place by one `os.replace` (`update_directory`). A
  process killed at any moment leaves the previous version or the new one,
  never a half-written file.
- **Narrow deletion.** An existing directory is removed or replaced only
  when keras-attn can tell that it wrote it (`package_directory_kind`):
  - a **training run**: it holds `training/options.json`, the record
    `keras_attn.training.TrainingRun` writes first;
  - a **preset**: its `config.json` names a `keras_attn` class, as
    `AttentionSeq2SeqLM.save_to_preset` writes it;
  - a **SavedModel**: it holds `saved_model.pb`, as
    `keras_attn.export.export_saved_model` writes it;

  and every entry in it is one that keras-attn writes for that kind (see
  `RUN_ENTRIES`, `PRESET_ENTRIES`, `SAVED_MODEL_ENTRIES`, and the
  temporaries of an interrupted write). A directory holding anything else
  (a README, a data file, a folder of the user's) is refused with a
  `FileExistsError` that names the directory and the first foreign entry,
  and nothing in it is touched.
"""

import json
import os
import shutil
import tempfile

STATE_DIR = "training"
# What save_to_preset writes (keras-hub's preset layout).
PRESET_ENTRIES = frozenset(
    {
        "config.json",
        "task.json",
        "preprocessor.json",
        "tokenizer.json",
        "metadata.json",
        "model.weights.h5",
        "assets",
    }
)
# A training run: a preset (the best model) and its records.
RUN_ENTRIES = PRESET_ENTRIES | {STATE_DIR}
STATE_ENTRIES = frozenset({"options.json", "state.json", "last", "last_optimizer.npz"})
SAVED_MODEL_ENTRIES = frozenset(
    {"saved_model.pb", "fingerprint.pb", "keras_metadata.pb", "variables", "assets"}
)
# Names of the temporaries this module makes (and the older ones of
# TrainingRun and export_preset), left behind only by a killed process.
TEMPORARY_PREFIXES = (".keras-attn-", ".saving-", ".exporting-")
TEMPORARY_SUFFIXES = (".tmp",)


def _is_temporary(name):
    return name.startswith(TEMPORARY_PREFIXES) or name.endswith(TEMPORARY_SUFFIXES)


def _foreign_entry(path, allowed):
    """The first entry of `path` that is neither allowed nor a temporary."""
    for name in sorted(os.listdir(path)):
        if name not in allowed and not _is_temporary(name):
            return name
    return None


def _names_keras_attn_class(config_path):
    try:
        with open(config_path, encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, ValueError):
        return False
    if not isinstance(config, dict):
        return False
    module = str(config.get("module") or "")
    registered = str(config.get("registered_name") or "")
    return module.startswith("keras_attn.") or registered.startswith("keras_attn>")


def _kind_and_reason(path):
    """`(kind, None)` for a directory keras-attn wrote, else `(None, why)`."""
    state_dir = os.path.join(path, STATE_DIR)
    if os.path.isfile(os.path.join(state_dir, "options.json")):
        kind, allowed = "run", RUN_ENTRIES
    elif _names_keras_attn_class(os.path.join(path, "config.json")):
        kind, allowed = "preset", RUN_ENTRIES  # an exported preset keeps records
    elif os.path.isfile(os.path.join(path, "saved_model.pb")):
        kind, allowed = "saved_model", SAVED_MODEL_ENTRIES
    else:
        return None, (
            "it is neither a training run (training/options.json), a keras-attn "
            "preset (a config.json naming a keras_attn class) nor a SavedModel "
            "(saved_model.pb)"
        )
    foreign = _foreign_entry(path, allowed)
    if foreign is None and kind != "saved_model" and os.path.isdir(state_dir):
        inner = _foreign_entry(state_dir, STATE_ENTRIES)
        foreign = None if inner is None else f"{STATE_DIR}/{inner}"
    if foreign is not None:
        return None, f"it holds {foreign!r}, which keras-attn does not write"
    return kind, None


def package_directory_kind(path):
    """What kind of keras-attn output `path` is, if keras-attn wrote it.

    Args:
        path: str or path-like.

    Returns:
        `"run"`, `"preset"` or `"saved_model"` for a directory recognised as
        above (every entry one keras-attn writes); `None` otherwise,
        including for a missing path or a file.

    Example:
    >>> import tempfile
    >>> package_directory_kind(tempfile.mkdtemp()) is None  # empty: not ours
    True
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        return None
    return _kind_and_reason(path)[0]


def check_output_directory(path, overwrite=False, kinds=("run", "preset")):
    """Checks that `path` may be written; touches nothing.

    Args:
        path: str or path-like, the directory to write.
        overwrite: bool, whether an existing, non-empty directory may be
            replaced (only one keras-attn wrote, of one of `kinds`).
        kinds: tuple of the kinds of directory `overwrite` may replace.

    Returns:
        True when `path` is a non-empty directory that will be replaced,
        False when it is missing or empty.

    Raises:
        FileExistsError: `path` is a file; or a non-empty directory and
            `overwrite` is False; or one keras-attn did not write (or not of
            one of `kinds`). The message names the directory.
    """
    path = os.fspath(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(
            f"{path!r} is an existing file, not a directory; choose a directory "
            "path to write to."
        )
    if not os.path.isdir(path) or not os.listdir(path):
        return False
    if not overwrite:
        raise FileExistsError(
            f"{path!r} exists and is not empty. Pass --overwrite (overwrite=True) "
            "to replace it, if keras-attn wrote it."
        )
    kind, reason = _kind_and_reason(path)
    if kind is None or kind not in kinds:
        reason = reason or f"it is a {kind.replace('_', ' ')}"
        raise FileExistsError(
            f"{path!r} was not replaced: {reason}. overwrite replaces only a "
            f"{' or '.join(k.replace('_', ' ') for k in kinds)} directory that "
            "keras-attn wrote; nothing in it was changed."
        )
    return True


def remove_directory(path, kinds=("run", "preset")):
    """Removes `path` after checking that keras-attn wrote it.

    Args:
        path: str or path-like, a directory.
        kinds: tuple of the kinds that may be removed.

    Raises:
        FileExistsError: as `check_output_directory(path, overwrite=True)`;
            nothing is removed then.
    """
    path = os.fspath(path)
    if check_output_directory(path, overwrite=True, kinds=kinds):
        shutil.rmtree(path)
    elif os.path.isdir(path):
        os.rmdir(path)  # empty


def _staging_directory(parent):
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".keras-attn-staging-")
    # mkdtemp makes the directory private (0700); outputs are for sharing.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    return staging


def write_directory(path, write, overwrite=False, kinds=("run", "preset")):
    """Writes a directory atomically: `write(staging)`, then moved to `path`.

    The staging directory sits next to `path` (same file system), so the
    move is a rename. An existing `path` is replaced only as
    `check_output_directory` allows, which is checked before `write` runs.

    Args:
        path: str or path-like, the directory to write.
        write: callable taking the staging directory (a str) and filling it.
        overwrite: bool, replace an existing directory keras-attn wrote.
        kinds: tuple of the kinds `overwrite` may replace.

    Returns:
        `path`, a str.
    """
    path = os.fspath(path)
    replace = check_output_directory(path, overwrite, kinds)
    parent = os.path.dirname(os.path.abspath(path))
    staging = _staging_directory(parent)
    try:
        write(staging)
        if replace:
            # Checked again just before: the directory may have changed.
            check_output_directory(path, True, kinds)
            old = tempfile.mkdtemp(dir=parent, prefix=".keras-attn-old-")
            os.replace(path, os.path.join(old, "old"))
            os.replace(staging, path)
            shutil.rmtree(old)
        else:
            if os.path.isdir(path):
                os.rmdir(path)  # empty
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def update_directory(path, write, keep=()):
    """Saves a directory again: `write(staging)`, then each entry moved in.

    For directories this package owns and rewrites often (a run's best
    model, its last epoch): every entry of the new version replaces the old
    one by one rename. Nothing else in `path` is removed: entries named in
    `keep` and any the new version lacks are left as they are.

    Args:
        path: str or path-like, the directory (created if missing).
        write: callable taking the staging directory (a str) and filling it.
        keep: names of entries of `path` to leave alone (a run's
            `training/` folder).
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    staging = _staging_directory(parent)
    try:
        write(staging)
        if not os.path.isdir(path):
            os.replace(staging, path)
            return
        for name in sorted(os.listdir(staging)):
            destination = os.path.join(path, name)
            if name in keep:
                continue
            if os.path.isdir(destination) and not os.path.islink(destination):
                shutil.rmtree(destination)
            os.replace(os.path.join(staging, name), destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def records_dir(model_dir):
    """Where a model's training records are: `MODEL/training/`, or for a
    run's last epoch (`RUN/training/last`) the run's `training/`."""
    model_dir = os.path.abspath(os.fspath(model_dir))
    state_dir = os.path.join(model_dir, STATE_DIR)
    parent = os.path.dirname(model_dir)
    if not os.path.isdir(state_dir) and os.path.basename(parent) == STATE_DIR:
        return parent
    return state_dir


def write_json(path, data):
    """Writes `data` as JSON to `path` atomically (a temporary, renamed)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2)
    os.replace(path + ".tmp", path)
