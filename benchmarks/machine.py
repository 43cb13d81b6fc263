"""What machine a benchmark ran on, for its results file: the CPU, the GPU
the Keras backend sees, the library versions and the git commit."""

import contextlib
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else `platform`'s guess."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def cpu_flags():
    """The vector and matrix extensions of the CPU that decide its float32
    and bfloat16 matmul rates, from /proc/cpuinfo (empty elsewhere)."""
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in flags]
    return []


def gpu_name():
    """The accelerator's name as the Keras backend sees it, or None on CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", "GPU")
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return device.device_kind
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - best effort, for the record only
        return "GPU"
    return None


def git_commit():
    """The checkout's short commit hash, or None outside a git checkout."""
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return None


def system_info():
    """The backend, library versions, CPU, GPU and TensorFlow's thread pools.

    Returns:
        A dict for a results file, JSON-serialisable.
    """
    import keras

    info = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "gpu": gpu_name(),
    }
    for module in ("tensorflow", "jax", "torch", "keras_hub"):
        if module in sys.modules:
            info[module] = getattr(sys.modules[module], "__version__", None)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow_threads"] = {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        }
    return info


def write_report(prefix, report, lines):
    """Writes a benchmark's results: `report` to `<prefix>.json`, the
    markdown `lines` to `<prefix>.md` (and prints them)."""
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    with open(prefix + ".json", "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2)
    text = "\n".join(lines) + "\n"
    with open(prefix + ".md", "w", encoding="utf-8") as file:
        file.write(text)
    print(text, end="")
