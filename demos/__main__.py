"""`python -m keras_attn_demo` (or `python -m demos`) starts the app."""

import sys

from .app import main

sys.exit(main())
