"""jupyter-tlt: the transfer-learning toolkit for intelligent video analytics, inside JupyterLab.

Importing the package is cheap: TensorFlow is imported only by the steps that need it.
"""

from .errors import DataError, OutputError, SpecError, TltError

__version__ = "0.1.0"

__all__ = ["TltError", "SpecError", "DataError", "OutputError", "__version__"]


def load_ipython_extension(ipython) -> None:
    """`%load_ext jupyter_tlt`: the `%tlt` / `%%tlt` magics and the rich result views."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the lab sidebar's REST API (imported only when the server loads it)."""
    return [{"module": "jupyter_tlt.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter-builder develop` finds the built TLT sidebar (a prebuilt lab extension)."""
    return [{"src": "labextension", "dest": "jupyter-tlt"}]
