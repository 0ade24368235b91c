"""ipywidgets panels over the same core calls as `%tlt`: train, prune and retrain, evaluate, registry.

    from jupyter_tlt.widgets import EvaluatePanel, PrunePanel, RegistryBrowser, TrainPanel
    TrainPanel(task="detection", results_dir="runs/detect")
    PrunePanel("runs/detect/weights/model.keras")
    EvaluatePanel("runs")
    ErrorBrowser(evaluate_result.analysis)
    RegistryBrowser()

Each panel writes the same artifacts as the matching `%tlt` step. TensorFlow is imported only when a
panel trains, prunes or evaluates.
"""

from ..registry import Registry
from ..spec.form import build_spec
from .error_browser import ErrorBrowser
from .evaluate_panel import EvaluatePanel
from .prune_panel import PrunePanel
from .registry_browser import RegistryBrowser
from .train_panel import TrainPanel

__all__ = ["TrainPanel", "PrunePanel", "EvaluatePanel", "ErrorBrowser", "RegistryBrowser", "Registry", "build_spec"]
