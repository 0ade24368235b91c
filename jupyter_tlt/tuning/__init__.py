"""Searching instead of guessing: post-processing tuning (``postprocessing``), hyper-parameter search
over spec fields on Optuna or Ray Tune (``space``, ``search``, ``ray_backend``).

    from jupyter_tlt.tuning import tune, tune_postprocessing
    tune("detection", "spec.txt", "space.yaml", "runs/tune", trials=8)
    tune_postprocessing("runs/detect/weights/model.keras", trials=60)

Importing this package imports neither TensorFlow nor Optuna.
"""


def tune_postprocessing(*args, **kwargs):
    from .postprocessing import tune_postprocessing as run

    return run(*args, **kwargs)


tune_postprocessing.__doc__ = "See ``jupyter_tlt.tuning.postprocessing.tune_postprocessing``."


def tune(*args, **kwargs):
    from .search import tune as run

    return run(*args, **kwargs)


tune.__doc__ = "See ``jupyter_tlt.tuning.search.tune``."
