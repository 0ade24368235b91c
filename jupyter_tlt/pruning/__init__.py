"""Structured filter pruning: channel groups (``graph``), TAO's scoring rule (``criteria``), the smaller
model (``rebuild``) and the ``Pruner`` that ties them together. The workflow step is ``jupyter_tlt.prune``.
"""

from .criteria import CRITERIA, NORMALIZERS
from .graph import ChannelGraph
from .pruner import Pruner
from .rebuild import with_widths

__all__ = ["Pruner", "ChannelGraph", "with_widths", "CRITERIA", "NORMALIZERS"]
