"""The keras-attn Gradio demo: translate, summarize, chat and train.

Installed as the package `keras_attn_demo` (`pip install "keras-attn[demo]"`)
and started with `keras-attn demo`; from a checkout, `python -m demos.app`
runs the same app. `python -m demos.app --help` lists the options. The app
uses only keras-attn's public API, and trains in a child process that runs
`keras_attn.training.train`, so serving stays responsive while a model
trains.
"""
