"""The import boundary between the library and the demo, read from the
source (no import runs): the demo imports only keras_attn's public API
(never the command line), inside itself only relatively (so that it works
as `demos` from a checkout and as the installed `keras_attn_demo`), and
the library never imports the demo."""

import ast
import importlib
import pkgutil

import keras_attn
from tests.demos.conftest import REPO

DEMOS = REPO / "demos"
DEMO_PACKAGES = ("demos", "keras_attn_demo")


def imports(path):
    """`(line, module, names)` of every absolute import in `path`, and
    `(line, None, names)` for a relative one."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            module = None if node.level else node.module
            yield node.lineno, module, tuple(alias.name for alias in node.names)


def attribute_calls(path):
    """`"inspect.signature"`-style dotted names used in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def public_modules():
    """`keras_attn` and its public modules (no `_private` ones, not `cli`)."""
    names = {
        info.name
        for info in pkgutil.iter_modules(keras_attn.__path__)
        if not info.name.startswith("_") and info.name != "cli"
    }
    return {"keras_attn", *(f"keras_attn.{name}" for name in names)}


def test_the_demo_imports_only_the_public_api_of_keras_attn():
    public = public_modules()
    problems = []
    for path in sorted(DEMOS.rglob("*.py")):
        where = path.relative_to(REPO)
        for line, module, names in imports(path):
            if module is None:
                continue
            top = module.split(".")[0]
            if top in DEMO_PACKAGES:
                problems.append(f"{where}:{line}: {module} (import it relatively)")
            if top == "keras_attn":
                if module not in public:
                    problems.append(f"{where}:{line}: {module} is not public API")
                    continue
                exported = getattr(importlib.import_module(module), "__all__", None)
                for name in names:
                    is_module = f"{module}.{name}" in public
                    if name.startswith("_") or not (
                        is_module or exported is None or name in exported
                    ):
                        problems.append(
                            f"{where}:{line}: {module}.{name} is not public"
                        )
            if module.startswith(("keras.src", "keras_hub.src")):
                problems.append(f"{where}:{line}: {module} is private")
        for line, name in attribute_calls(path):
            if name in ("inspect.signature", "argparse.Namespace"):
                problems.append(f"{where}:{line}: {name}")
    assert not problems, "\n".join(problems)


def test_the_command_line_is_not_public_and_the_demo_never_names_it():
    assert "keras_attn.cli" not in public_modules()
    for path in DEMOS.rglob("*.py"):
        assert "keras_attn.cli" not in path.read_text(encoding="utf-8"), path


def test_the_library_never_imports_the_demo():
    problems = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in sorted((REPO / "keras_attn").rglob("*.py"))
        for line, module, _ in imports(path)
        if module and module.split(".")[0] in DEMO_PACKAGES
    ]
    assert not problems, "\n".join(problems)
