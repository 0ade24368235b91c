"""`tlt tune --backend ray`: the same search on Ray Tune, for trials spread over a cluster.

    tune("detection", "spec.txt", "runs/tune", space="space.yaml", trials=32, backend="ray",
         address="ray://head:10001")          # or no address: a local Ray on this machine's CPUs/GPUs

Optuna's TPE sampler proposes the parameters through Ray's ``OptunaSearch``; Ray's ASHA scheduler
stops bad trials from the per-epoch validation figure each trial reports (a Keras callback); each
trial is an ordinary experiment in ``<results>/trials/ray_<id>/``, trained by a Ray worker on
``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs. Ray keeps its own state in ``<results>/ray/``,
so the same command after an interruption restores the run (``Tuner.restore``).

Ray is imported only here, and only when asked for: ``pip install 'jupyter-tlt[ray]'``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import DataError, UsageError
from .layout import TRIALS

RAY_DIR = "ray"
METRIC = "objective"
# A local Ray's start-up can time out on a loaded machine: every Ray helper process imports jsonschema,
# whose IRI grammar (rfc3987-syntax, when installed) costs seconds of CPU, and the raylet waits only 15 s
# for its agents (then Ray raises a bare Exception). So a local start is tried twice before giving up.
START_ATTEMPTS = 2


def check_address(address: str, timeout: float = 5.0) -> None:
    """Refuse, in one line, an address where nothing answers (Ray itself would retry for minutes)."""
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    if not parts.hostname or not parts.port:
        raise UsageError(f"--address {address}: write HOST:PORT or ray://HOST:PORT (e.g. ray://head:10001)")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as exc:
        raise UsageError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); start one "
                         "with 'ray start --head' or leave out --address for a local Ray") from None


def start_ray(address: str | None, num_cpus: int | None = None):
    """Connect to the cluster at ``address``, or start a local Ray without its dashboard."""
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs Ray Tune: pip install 'jupyter-tlt[ray]' (or 'ray[tune]')") from None
    if address:
        check_address(address)
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        except Exception as exc:  # ConnectionError, RuntimeError: Ray's own types vary by version
            raise UsageError(f"--address {address}: Ray could not connect ({str(exc).strip()[:200]})") from None
    elif not ray.is_initialized():
        for attempt in range(START_ATTEMPTS):
            try:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
                break
            except Exception as exc:  # Ray raises a bare Exception when its node times out during startup
                ray.shutdown()
                if attempt + 1 < START_ATTEMPTS:
                    continue
                reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                raise DataError(f"--backend ray: the local Ray did not start, {START_ATTEMPTS} tries ({reason}); its "
                                "logs are in /tmp/ray/session_latest/logs (raylet.out). On a busy machine its "
                                "agents can miss the raylet's 15 s start-up wait: retry when the load is lower, or "
                                "start a cluster with 'ray start --head' and pass --address") from None
    return ray


def run_ray(job, trials, timeout, seed: int, pruner: str, address: str | None, *, num_cpus: int | None = None,
            cpus_per_trial: float = 1, gpus_per_trial: int = 1) -> tuple[list[dict], str]:
    """Run (or restore) the search on Ray Tune; (rows of every trial, where Ray keeps its state)."""
    ray = start_ray(address, num_cpus)
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.optuna import OptunaSearch

    if ray.cluster_resources().get("GPU", 0) < 1:
        gpus_per_trial = 0  # a CPU cluster: each trial trains on its CPUs
    space = {p.field: p.distribution() for p in job.space}
    searcher = OptunaSearch(space=space, metric=METRIC, mode="max", seed=seed)
    scheduler = (FIFOScheduler() if pruner == "none" else
                 ASHAScheduler(metric=METRIC, mode="max", grace_period=1, reduction_factor=2))
    trainable = tune.with_resources(_trainable(job), {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    state = (job.root / RAY_DIR).resolve()
    name = "search"
    if tune.Tuner.can_restore(str(state / name)):
        tuner = tune.Tuner.restore(str(state / name), trainable, resume_errored=True)
    else:
        tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, num_samples=trials if trials is not None else -1,
            time_budget_s=timeout), run_config=tune.RunConfig(name=name, storage_path=str(state), verbose=0))
    grid = tuner.fit()
    rows = []
    for number, result in enumerate(grid):
        config = result.config or {}
        metrics = result.metrics or {}
        values = {p.field: p.value_of(config[p.field]) for p in job.space if p.field in config}
        final = metrics.get("final", False)
        state_name = "FAIL" if result.error else ("COMPLETE" if final else "PRUNED")
        rows.append({"trial": number, "state": state_name, "value": metrics.get(METRIC),
                     "epochs": metrics.get("epoch"), **values, "experiment": metrics.get("experiment", "")})
    return rows, f"ray ({state})"


def _trainable(job):
    """The function Ray runs per trial: train the trial's experiment, reporting every validation.

    Ray starts each trial in its own working directory; the trial goes back to the driver's (when that
    folder exists on the worker's machine), so relative paths in the spec mean what they mean to `tlt tune`."""
    driver_cwd = os.getcwd()

    def run(config: dict) -> None:
        from ray import tune

        from ..tf_import import keras

        if os.path.isdir(driver_cwd):
            os.chdir(driver_cwd)

        trial_id = tune.get_context().get_trial_id()
        trial_dir = job.root.resolve() / TRIALS / f"ray_{trial_id}"
        monitor = job.objective_monitor()

        class Report(keras().callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if (logs or {}).get(monitor) is not None:
                    tune.report({METRIC: float(logs[monitor]), "epoch": epoch + 1, "final": False,
                                 "experiment": str(trial_dir)})

        values = {p.field: p.value_of(config[p.field]) for p in job.space}
        value = job.run_trial(values, Path(trial_dir), callbacks=[Report()])
        tune.report({METRIC: value, "final": True, "experiment": str(trial_dir)})

    return run
