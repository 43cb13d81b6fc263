"""The `keras-attn` command line.

`keras-attn info` prints the versions and the Keras backend in use (what a
bug report needs). The training, evaluation, generation and export commands
are added to the same parser as they land.
"""

import argparse
import importlib.metadata
import sys

import keras_attn

DEPENDENCIES = ("keras", "keras-hub", "tensorflow", "jax", "torch", "gradio")


def _info(args):
    import keras

    print(f"keras-attn {keras_attn.__version__}")
    print(f"backend: {keras.backend.backend()}")
    for name in DEPENDENCIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{name}: {version}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-attn",
        description="Attention for RNN encoder-decoder models in Keras 3.",
    )
    parser.add_argument(
        "--version", action="version", version=f"keras-attn {keras_attn.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="print versions and the Keras backend")
    info.set_defaults(handler=_info)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
