"""A training run in a background thread, stoppable after any epoch (what the notebook panels run).

    job = TrainJob(spec_text, "runs/detect", on_epoch=print).start()
    job.stop()            # after the current epoch; its checkpoint is written first
    result = job.join()   # the TrainResult; None when stopped (job.stopped) or failed (job.error)

Stop sets a flag that the `on_epoch` hook checks after each epoch's checkpoint is written, and raises
`StopTraining` (a KeyboardInterrupt) there, which `train` records as "interrupted"; running again
resumes from that checkpoint. The thread only calls the given hooks, never prints.
"""

from __future__ import annotations

import threading
from typing import Callable


class StopTraining(KeyboardInterrupt):
    """Raised by the `on_epoch` hook when Stop was pressed; `train` treats it as an interrupt."""


class TrainJob:
    """`train(spec, results_dir)` in a background thread, charted, and stoppable after any epoch."""

    def __init__(self, spec_text: str, results_dir: str, *, task: str | None = None, key: str | None = None,
                 chart=None, on_epoch: Callable[[dict], None] | None = None,
                 on_done: Callable[["TrainJob"], None] | None = None):
        """`chart`: anything with ``update(record)`` (a ``notebook.live_chart.LiveChart``), fed every epoch."""
        self.spec_text, self.results_dir, self.task, self.key = spec_text, results_dir, task, key
        self.chart = chart
        self.on_epoch, self.on_done = on_epoch, on_done
        self.result = None
        self.error: BaseException | None = None
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tlt-train", daemon=True)

    def start(self) -> "TrainJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current epoch (its checkpoint is written first)."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None):
        self._thread.join(timeout)
        return self.result

    def _hook(self, record: dict) -> None:
        if self.chart is not None:
            self.chart.update(record)
        if self.on_epoch is not None:
            self.on_epoch(record)
        if self._stop.is_set():
            raise StopTraining(f"stopped after epoch {record['epoch']}")

    def _run(self) -> None:
        from ..train import train

        try:
            self.result = train(self.spec_text, self.results_dir, task=self.task, key=self.key,
                                progress=False, on_epoch=self._hook)
        except KeyboardInterrupt:
            self.stopped = True
        except BaseException as exc:  # shown in the panel: a thread has nowhere else to report
            self.error = exc
        finally:
            if self.on_done is not None:
                self.on_done(self)
