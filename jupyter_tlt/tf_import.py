"""Import TensorFlow on first use, quietly.

Front ends (`import jupyter_tlt`, `%load_ext`, `tlt --help`) must stay fast, so modules call
`tensorflow()` inside the functions that need it instead of importing TensorFlow at module level.
"""

from __future__ import annotations

import os
import sys
import tempfile

_tf = None


def tensorflow():
    """Return the `tensorflow` module, hiding the C++ start-up banner it writes to stderr.

    TensorFlow's native logging prints before any log level applies, so the import runs with file
    descriptor 2 captured; if the import fails, what was captured is written back.
    """
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with tempfile.TemporaryFile() as captured:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(captured.fileno(), 2)
            try:
                import tensorflow as tf  # the import lock makes other threads wait for a whole module
            except BaseException:
                os.dup2(saved, 2)
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
                raise
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        _tf = tf
    return _tf


def keras():
    """Return the `keras` module, after TensorFlow (its backend) has been imported quietly."""
    tensorflow()
    import keras as k

    return k
