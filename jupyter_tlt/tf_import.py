"""Import TensorFlow on first use, quietly.

Front ends (`import jupyter_tlt`, `%load_ext`, `tlt --help`) must stay fast, so modules call
`tensorflow()` inside the functions that need it instead of importing TensorFlow at module level.
"""

from __future__ import annotations

import os


def tensorflow():
    """Return the `tensorflow` module, silencing its C++ start-up banner unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf
