"""The keras-attn Gradio demo: translate, summarize, chat and train.

Run it with `python -m demos.app` or `keras-attn demo` from a checkout of the
repository; `python -m demos.app --help` lists the options. The app only
uses keras-attn's public API and runs training in a `keras-attn train`
subprocess, so serving stays responsive while a model trains.
"""
