"""What machine a benchmark ran on, for its results file."""

import contextlib
import platform


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else `platform`'s guess."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None
