"""Notebook output of jupyter-tlt: rich views of step results and the live training chart.

    from jupyter_tlt.notebook import LiveChart, show
    show(result)                                   # mAP table + PR curves, prune curve, gallery, ...
    train(spec, "runs/x", on_epoch=LiveChart().update)

Used by the `%tlt` magic and the widgets; importing it imports neither TensorFlow nor matplotlib.
"""

from .display import show
from .live_chart import LiveChart, follow

__all__ = ["show", "LiveChart", "follow"]
