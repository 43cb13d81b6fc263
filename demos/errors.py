"""The error the demo's own checks raise."""


class DemoError(Exception):
    """A request the demo refuses, with a message for the person who sent it.

    The app shows the message in the page (as a `gr.Error`) and keeps
    serving; it never carries a traceback.
    """
