"""`tune`: a hyper-parameter search over spec fields, each trial an ordinary experiment, on Optuna.

    result = tune("detection", "spec.txt", "runs/tune", space="space.yaml", trials=8)
    result.to_frame()        # one row per trial: state, objective, parameters, experiment folder
    result.best_spec         # runs/tune/best_spec.txt, ready for `tlt train`

Layout of the results folder: ``tune.db`` (Optuna's SQLite storage: the search survives ``kill -9``
and a re-run with the same command resumes it), ``trials/trial_NNNN/`` (each an experiment, listed by
the sidebar like any other), ``best_spec.txt`` and ``tune.json`` (the summary). ``storage`` names
another database (e.g. PostgreSQL shared by several machines running the same command).

Objective: the final model's mAP at ``level`` (``evaluate``'s KITTI levels) for a detector, top-1
accuracy for a classifier. Bad trials stop early: each epoch's validation figure (``val_mAP`` at level
"all", or ``val_accuracy``) is reported to Optuna's pruner by a Keras callback, which ends the
training when the pruner says so.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..data.kitti import DIFFICULTIES
from ..errors import TltError, UsageError
from .layout import TRIALS, TUNE_DB, TUNE_LOCK, TUNE_SUMMARY
from .space import Param, apply, check_space, load_space, parse_flags

PRUNERS = ("median", "hyperband", "none")
LEVELS = tuple(DIFFICULTIES)  # the levels `evaluate` scores (and writes to metrics.json)
STUDY = "tune"


@dataclass
class TuneResult:
    """Every trial of a search (this run and earlier ones), the best one and where its spec is."""

    results_dir: Path
    objective: str
    trials: list[dict] = field(default_factory=list)
    best: dict | None = None
    best_spec: Path | None = None
    storage: str = ""
    backend: str = "optuna"
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.trials).set_index("trial") if self.trials else pd.DataFrame()

    def counts(self) -> dict[str, int]:
        states: dict[str, int] = {}
        for row in self.trials:
            states[row["state"]] = states.get(row["state"], 0) + 1
        return states

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in self.counts().items())
        head = f"search in {self.results_dir} ({self.backend}, {self.storage}): {counts}; objective {self.objective}"
        if self.best is None:
            return head + "\nno trial finished yet: nothing to recommend"
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.best["params"].items())
        table = self.to_frame().drop(columns=["experiment"], errors="ignore").to_string()
        return (f"{head}\n{table}\nbest: trial {self.best['trial']}, {self.objective} {self.best['value']:.4f} "
                f"({params})\nbest spec: {self.best_spec} (tlt train ... -e {self.best_spec})")

    def _repr_html_(self) -> str:
        from .views import search_html

        return search_html(self)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def tune(task: str, spec, results_dir, *, space=None, params=(), trials: int | None = None,
         timeout: float | None = None, storage: str | None = None, level: str = "moderate",
         pruner: str = "median", seed: int = 0, key: str | None = None, backend: str = "optuna",
         address: str | None = None, gpus_per_trial: int = 1) -> TuneResult:
    """Search ``space`` (a YAML file) and/or ``params`` (``FIELD=LOW:HIGH`` flags) around ``spec``.

    Budget: ``trials`` in all (earlier runs of the same search count) and/or ``timeout`` seconds for
    this run. ``backend="ray"`` runs the trials on Ray Tune (``address``: a cluster; see ``ray_backend``),
    each on ``gpus_per_trial`` GPUs (one when the cluster has none: then on its CPU)."""
    from ..spec import load_experiment_spec, spec_to_text
    from ..tasks import infer_task

    start = time.perf_counter()
    _check_budget(trials, timeout)
    if level not in LEVELS:
        raise UsageError(f"--level: {level!r} is not one of evaluate's levels; use {', '.join(LEVELS)}")
    if pruner not in PRUNERS:
        raise UsageError(f"--pruner: unknown pruner {pruner!r}; use one of {', '.join(PRUNERS)}")
    searched = (load_space(space) if space else []) + parse_flags(params)
    check_space(searched, str(space) if space else "-p")
    base = spec_to_text(load_experiment_spec(spec))
    task = task or infer_task(load_experiment_spec(base))
    for param in searched:  # every choice and both ends of every range make a loadable spec
        for value in (param.choices or (param.low, param.high)):
            load_experiment_spec(apply(base, {param.field: int(value) if param.integer else value}),
                                 name=f"the spec with {param.field} = {value!r}")
    root = Path(results_dir)
    atomic.ensure_writable_dir(root)
    if not isinstance(gpus_per_trial, int) or gpus_per_trial < 1:
        raise UsageError(f"--gpus_per_trial: {gpus_per_trial!r}; give 1 or more")
    job = Job(task, base, root, searched, level, key, gpus_per_trial)
    if backend == "ray":
        from .ray_backend import run_ray

        rows, where = run_ray(job, trials, timeout, seed, pruner, address, gpus_per_trial=gpus_per_trial)
    elif backend == "optuna":
        rows, where = run_optuna(job, trials, timeout, storage, seed, pruner), storage or default_storage(root)
    else:
        raise UsageError(f"--backend: unknown backend {backend!r}; use optuna or ray")
    return job.result(rows, where, backend, time.perf_counter() - start)


def _check_budget(trials, timeout) -> None:
    if trials is None and timeout is None:
        raise UsageError("give a budget: --trials N and/or --timeout SECONDS")
    if trials is not None and (not isinstance(trials, int) or trials < 1):
        raise UsageError(f"--trials: a budget of {trials} trials runs nothing; give 1 or more")
    if timeout is not None and not timeout > 0:
        raise UsageError(f"--timeout: a budget of {timeout:g} seconds runs nothing; give more than 0")


def default_storage(root: Path) -> str:
    return f"sqlite:///{(root / TUNE_DB).resolve()}"


@dataclass
class Job:
    """What every trial needs: the task, the base spec, the results folder, the space, the level."""

    task: str
    base: str
    root: Path
    space: list[Param]
    level: str
    key: str | None
    gpus: int = 1  # per trial: train's MirroredStrategy inside each trial

    def metric(self) -> str:
        """The task's primary metric: "mAP" or "accuracy"."""
        from ..spec import load_experiment_spec
        from ..tasks import make_task

        return make_task(self.task, load_experiment_spec(self.base)).primary_metric

    @property
    def objective(self) -> str:
        metric = self.metric()
        return f"{metric} ({self.level})" if metric == "mAP" else metric

    def objective_monitor(self) -> str:
        """The per-epoch validation figure the pruner watches (in the epoch's Keras logs)."""
        return f"val_{self.metric()}"

    def run_trial(self, values: dict[str, Any], trial_dir: Path, callbacks=()) -> float:
        """Train the trial's experiment (resuming its checkpoints) and return the objective."""
        from ..evaluate import evaluate
        from ..train import train

        text = apply(self.base, values)
        atomic.ensure_writable_dir(trial_dir)
        atomic.write_text(trial_dir / "spec.txt", text)
        final = trial_dir / "weights" / "model.keras"
        if not final.is_file():
            train(text, trial_dir, task=self.task, key=self.key, gpus=self.gpus, progress=False,
                  callbacks=callbacks)
        result = evaluate(self.task, final, key=self.key, progress=False, results_dir=trial_dir)
        return objective_value(result.metrics, self.level)

    def trial_dir(self, number: int) -> Path:
        return self.root / TRIALS / f"trial_{number:04d}"

    def rows_of(self, trials) -> list[dict]:
        """Table rows of Optuna FrozenTrials: state, objective, spec values, experiment folder."""
        rows = []
        for t in trials:
            values = {p.field: p.value_of(t.params[p.field]) for p in self.space if p.field in t.params}
            rows.append({"trial": t.number, "state": t.state.name, "value": t.value,
                         "epochs": len(t.intermediate_values) or None, **values,
                         "experiment": t.user_attrs.get("experiment", "")})
        return rows

    def result(self, rows: list[dict], storage: str, backend: str, seconds: float) -> TuneResult:
        """The TuneResult of ``rows``; writes best_spec.txt and tune.json (atomically)."""
        params = [p.field for p in self.space]
        complete = [r for r in rows if r["state"] == "COMPLETE" and r["value"] is not None]
        best = None
        if complete:
            top = max(complete, key=lambda r: r["value"])
            best = {"trial": top["trial"], "value": top["value"], "params": {k: top[k] for k in params},
                    "experiment": top["experiment"]}
        best_spec = None
        if best is not None:
            best_spec = self.root / "best_spec.txt"
            atomic.write_text(best_spec, apply(self.base, best["params"]))
        result = TuneResult(self.root, self.objective, rows, best, best_spec, _safe_url(storage), backend, seconds)
        atomic.write_text(self.root / TUNE_SUMMARY, json.dumps(
            {"objective": result.objective, "storage": result.storage, "backend": backend,
             "space": [p.describe() for p in self.space], "best": best,
             "best_spec": str(best_spec) if best_spec else None, "trials": rows}, indent=2, default=str) + "\n")
        return result


def objective_value(metrics, level: str) -> float:
    """mAP at ``level`` of DetectionMetrics, else a classifier's top-1 accuracy."""
    by_level = getattr(metrics, "mAP", None)
    if isinstance(by_level, dict):
        if level not in by_level:
            raise UsageError(f"--level: {level!r} is not evaluated; use one of {', '.join(by_level)}")
        return float(by_level[level])
    return float(metrics.top1)


def _safe_url(url: str) -> str:
    """The storage URL without its password (it goes into tune.json and the report)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def open_storage(url: str, embedded: bool):
    """Optuna's RDB storage, or UsageError naming the URL. A shared database gets heartbeats, so a
    trial whose machine died is failed and retried by the next worker."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    try:
        if embedded:
            return RDBStorage(url)
        with warnings.catch_warnings():  # the heartbeat retry is "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, heartbeat_interval=60, grace_period=180,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2))
    except ImportError as exc:
        raise UsageError(f"--storage {_safe_url(url)}: its database driver is not installed ({exc.name}); "
                         "pip install it") from None
    except Exception as exc:  # SQLAlchemy's ArgumentError, OperationalError, ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--storage {_safe_url(url)}: cannot open this database ({reason}); give a URL like "
                         "sqlite:///path/tune.db or postgresql://user@host/db") from None
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_pruner(name: str):
    import optuna

    if name == "median":  # after 2 finished trials, from the first validated epoch on
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def run_optuna(job: Job, trials, timeout, storage, seed: int, pruner: str) -> list[dict]:
    """Run (or resume) the search in this process; the rows of all its trials."""
    import optuna
    from optuna.trial import TrialState

    from .callback import OptunaPruning

    embedded = storage is None
    url = storage or default_storage(job.root)
    backend = open_storage(url, embedded)
    with SearchLock(job.root) if embedded else _nothing():
        study = optuna.create_study(study_name=STUDY, storage=backend, direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed),
                                    pruner=make_pruner(pruner), load_if_exists=True)
        _check_same_space(study, job)
        earlier = len(study.get_trials(deepcopy=False))
        if earlier:  # a resumed search: a sampler seeded as before would repeat the first run's draws
            study.sampler = optuna.samplers.TPESampler(seed=seed + earlier)
        if embedded:
            _retry_interrupted(study)
        done = lambda: len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))  # noqa: E731

        def objective(trial):
            values = {p.field: p.value_of(p.suggest(trial)) for p in job.space}
            trial_dir = Path(trial.user_attrs.get("experiment") or job.trial_dir(trial.number))
            trial.set_user_attr("experiment", str(trial_dir))
            stop = OptunaPruning(trial, monitor=job.objective_monitor())
            value = job.run_trial(values, trial_dir, callbacks=[stop])
            if stop.pruned_at is not None:
                from ..experiments import Experiment

                Experiment(trial_dir).log("pruned", epoch=stop.pruned_at, value=stop.last)
                raise optuna.TrialPruned(f"pruned after epoch {stop.pruned_at}")
            return value

        remaining = None if trials is None else trials - done()
        if remaining is None or remaining > 0:
            callbacks = [optuna.study.MaxTrialsCallback(trials, states=(TrialState.COMPLETE, TrialState.PRUNED))] \
                if trials is not None else []
            study.optimize(objective, n_trials=remaining, timeout=timeout, callbacks=callbacks,
                           catch=(TltError,), gc_after_trial=True)
        return job.rows_of(study.get_trials(deepcopy=False))


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def _check_same_space(study, job: Job) -> None:
    described = [p.describe() for p in job.space]
    stored = study.user_attrs.get("space")
    if stored is None:
        study.set_user_attr("space", described)
        study.set_user_attr("task", job.task)
    elif stored != described:
        raise UsageError(f"{job.root}: holds a search over another space ({'; '.join(stored)}); use a new "
                         "-r/--results_dir, or the same space to resume it")


def _retry_interrupted(study) -> None:
    """Trials left RUNNING by a killed search: failed, and their parameters queued again with their
    experiment folder, so the retry resumes from the trial's last checkpoint."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"experiment": t.user_attrs.get("experiment", ""),
                                                  "retry_of": t.number}, skip_if_exists=False)


class SearchLock:
    """``tune.lock`` in the results folder: one search process per embedded database. A lock whose
    process is gone (killed) is taken over."""

    def __init__(self, root: Path):
        self.path = root / TUNE_LOCK

    def __enter__(self) -> "SearchLock":
        if self.path.is_file():
            try:
                held = json.loads(self.path.read_text())
            except (OSError, ValueError):
                held = {}
            if held.get("host") == socket.gethostname() and _alive(held.get("pid")):
                raise UsageError(f"{self.path.parent}: a search is already running here (pid {held['pid']}); "
                                 "wait for it, or stop it first")
        atomic.write_text(self.path, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
