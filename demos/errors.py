"""The error the demo's own checks raise, and how errors reach the page."""

import functools
import html
import inspect
import logging

log = logging.getLogger(__name__)


class DemoError(Exception):
    """A request the demo refuses, with a message for the person who sent it.

    The app shows the message in the page (as a `gr.Error`) and keeps
    serving; it never carries a traceback.
    """


def as_gradio_error(error):
    """A `gr.Error` whose message is the error's text (escaped: gr.Error
    renders HTML, and the text may hold what a user typed). An unexpected
    error is logged with its traceback."""
    import gradio as gr

    if isinstance(error, gr.Error):
        return error
    if isinstance(error, DemoError):
        return gr.Error(html.escape(str(error), quote=False), print_exception=False)
    log.exception("request failed")
    return gr.Error(
        html.escape(
            f"Something went wrong: {type(error).__name__}: {error}", quote=False
        )
    )


def shows_errors(fn):
    """Runs `fn` so that any failure reaches the page as a `gr.Error`.

    Generator functions stay generator functions: Gradio streams them.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise as_gradio_error(error) from None

        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise as_gradio_error(error) from None

    return function
