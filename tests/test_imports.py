"""What `keras_attn` imports: no demo, no plotting or web stack at import
time, no private Keras modules, and private keras-hub names in one module
whose every name still exists in the installed keras-hub."""

import ast
import importlib
import os
import pathlib
import subprocess
import sys

import keras_hub
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_attn"
KERAS_HUB_PRIVATE = PACKAGE / "_keras_hub_private.py"

# Run in a fresh interpreter, where matplotlib and gradio cannot be found, as
# in an install without the demo extra: keras quietly does without
# matplotlib when it is missing, so any import that is left is keras_attn's.
# Who tried to import them is read from the stack.
IMPORT_PROBE = """
import importlib.abc, os, sys, traceback
BLOCKED = ("matplotlib", "gradio")
PACKAGE = sys.argv[1]
attempts = []

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            # The importer: the innermost frame outside the import system.
            importer = next(
                frame
                for frame in reversed(traceback.extract_stack()[:-1])
                if not frame.filename.startswith("<frozen")
            )
            if importer.filename.startswith(PACKAGE):
                attempts.append(f"{name} from {importer.filename}:{importer.lineno}")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
import keras_attn
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("ATTEMPTS", attempts)
print("LOADED", loaded)
"""


def _python_files():
    files = sorted(PACKAGE.rglob("*.py"))
    assert files, f"no Python files under {PACKAGE}"
    return files


def _imported_modules(path):
    """(module name, line) of every import in a file, relative ones resolved
    against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((module, node.lineno))
            # `from keras import src` reaches keras.src too.
            found.extend(
                (f"{module}.{alias.name}", node.lineno) for alias in node.names
            )
    return found


def _imports_of(prefixes, skip=()):
    hits = []
    for path in _python_files():
        if path in skip:
            continue
        for module, line in _imported_modules(path):
            if any(module == p or module.startswith(p + ".") for p in prefixes):
                hits.append(f"{path.relative_to(PACKAGE.parent)}:{line} {module}")
    return hits


def test_import_keras_attn_loads_neither_gradio_nor_matplotlib():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(PACKAGE)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(
        line.split(" ", 1)
        for line in result.stdout.splitlines()
        if line.startswith(("ATTEMPTS", "LOADED"))
    )
    assert lines["ATTEMPTS"] == "[]", (
        f"import keras_attn imports a demo-only dependency: {lines['ATTEMPTS']}"
    )
    assert lines["LOADED"] == "[]", lines["LOADED"]


def test_the_library_never_imports_the_demo():
    hits = _imports_of(("demos", "keras_attn_demo"))
    assert not hits, "keras_attn imports the demo:\n" + "\n".join(hits)


def test_no_private_keras_imports():
    hits = _imports_of(("keras.src",))
    assert not hits, (
        "keras_attn imports private Keras modules (use the public keras API; "
        "Keras fills `<name>_mask` call arguments by itself):\n" + "\n".join(hits)
    )


def test_private_keras_hub_imports_live_in_one_module():
    hits = _imports_of(("keras_hub.src",), skip=(KERAS_HUB_PRIVATE,))
    assert not hits, (
        "import private keras-hub names through keras_attn/_keras_hub_private.py:\n"
        + "\n".join(hits)
    )


def _pinned_names():
    tree = ast.parse(KERAS_HUB_PRIVATE.read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]


def test_the_pinned_keras_hub_module_imports_only_keras_hub_src():
    pinned = _pinned_names()
    assert pinned, f"{KERAS_HUB_PRIVATE.name} imports nothing"
    assert all(module.startswith("keras_hub.src.") for module, _ in pinned), pinned


@pytest.mark.parametrize(
    "module,name", _pinned_names(), ids=[f"{m}.{n}" for m, n in _pinned_names()]
)
def test_pinned_keras_hub_name_still_exists(module, name):
    where = (
        f"keras_attn/_keras_hub_private.py imports {name} from {module}, "
        f"which keras-hub {keras_hub.__version__}"
    )
    try:
        found = importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"{where} no longer has ({error}); find where it moved")
    assert hasattr(found, name), f"{where} no longer defines; find where it moved"
