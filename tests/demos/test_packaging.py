"""How the demo is packaged: `demos/` is installed as `keras_attn_demo`, with
its samples and the `keras_attn.demo` entry point, and no top-level
`demos` package; `keras-attn demo` works from outside a checkout.

The install test builds the package from a copy of the sources into a
throwaway virtual environment (no network: `--no-deps`, no build
isolation; the dependencies come from this environment's site-packages).
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.demos.conftest import REPO
from tests.demos.conftest import only_tensorflow
from tests.demos.conftest import subprocess_env

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "keras_attn", "demos")


def pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(REPO / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def test_the_package_list_names_every_package_and_maps_the_demo():
    setuptools = pyproject()["tool"]["setuptools"]
    on_disk = {
        ".".join(path.parent.relative_to(REPO).parts)
        for path in (REPO / "keras_attn").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert set(setuptools["packages"]) == on_disk | {"keras_attn_demo"}
    assert setuptools["package-dir"] == {"keras_attn_demo": "demos"}
    assert "samples/*" in setuptools["package-data"]["keras_attn_demo"]
    project = pyproject()["project"]
    assert project["entry-points"]["keras_attn.demo"] == {
        "app": "keras_attn_demo.app:main"
    }
    # The app's dependencies are an extra: `import keras_attn` needs neither.
    core = " ".join(project["dependencies"])
    assert "gradio" not in core and "matplotlib" not in core
    assert any(d.startswith("gradio") for d in project["optional-dependencies"]["demo"])


def test_this_environment_has_the_entry_point():
    points = importlib.metadata.entry_points(group="keras_attn.demo")
    assert "app" in points.names, (
        "keras-attn's metadata has no keras_attn.demo entry point: reinstall "
        "it (bash scripts/setup.sh)"
    )
    main = points["app"].load()
    assert main.__module__ == "keras_attn_demo.app" and callable(main)


@only_tensorflow
def test_an_installed_package_has_no_top_level_demos_and_its_demo_runs(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        elif path.is_file():
            shutil.copy(path, source / name)
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # This environment's packages (tensorflow, gradio, ...) after the new
    # venv's own; its .pth files (the editable install) are not read.
    (site / "outer.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install",
            "--no-deps", "--no-build-isolation", "--no-index", "-q",
            f"{source}[demo]",
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    installed = os.listdir(site)
    assert "keras_attn_demo" in installed and "demos" not in installed
    assert (site / "keras_attn_demo" / "samples" / "spa-eng.txt").is_file()

    elsewhere = tmp_path / "elsewhere"  # no checkout, no saved_models here
    elsewhere.mkdir()
    env = subprocess_env(PYTHONPATH="", KERAS_ATTN_MODELS="")

    def run(*args):
        return subprocess.run(
            [venv / "bin" / "keras-attn", "demo", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    help = run("--help")
    assert help.returncode == 0, help.stderr
    assert "--models-dir" in help.stdout and "./saved_models" in help.stdout
    missing = run()
    assert missing.returncode == 2
    where = (elsewhere / "saved_models").resolve()
    assert f"no models directory at {where}" in missing.stderr, missing.stderr
    located = subprocess.run(
        [python, "-c", "import keras_attn_demo.app as a; print(a.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert located.stdout.startswith(str(venv)), located


def test_the_app_module_loads_neither_gradio_nor_keras_before_it_starts():
    # So `keras-attn demo --help` and a wrong option answer at once.
    code = (
        "import sys, demos.app; print(sorted({'gradio', 'keras'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip() == "[]", result.stderr
