"""Background jobs of the sidebar: a registry pull runs in a thread and reports its bytes as it goes.

    >>> jobs = JobManager(root=Path("/srv/work"))
    >>> job = jobs.start_pull(Registry(), "detectnet_v2_resnet18", "2", Path("/srv/work/pretrained"), total=4_500_000)
    >>> jobs.get(job.id).to_dict()
    {'id': '3f2a...', 'kind': 'pull', 'state': 'running', 'done': 1048576, 'total': 4500000}
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import TltError, quote_input
from ..registry import Registry

log = logging.getLogger(__name__)


class UnknownJob(TltError):
    """A job id this server never started (or forgot after a restart)."""


@dataclass
class Job:
    id: str
    kind: str
    state: str = "running"
    done: int = 0
    total: int = 0
    path: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        reply = {"id": self.id, "kind": self.kind, "state": self.state, "done": self.done, "total": self.total}
        if self.path is not None:
            reply["path"] = self.path
        if self.error is not None:
            reply["error"] = self.error
        return reply


class JobManager:
    """Starts jobs in daemon threads and remembers the newest `keep` of them."""

    def __init__(self, root: Path, keep: int = 200):
        self.root = root.resolve()
        self.keep = keep
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no job {quote_input(job_id)} on this server (jobs are forgotten when it restarts); "
                             "start the pull again")
        return job

    def start_pull(self, registry: Registry, name: str, version: str, dest: Path, total: int = 0) -> Job:
        """Pull `name`/`version` into `dest` (a folder inside the root); the job's path is the model file."""
        job = Job(uuid.uuid4().hex, "pull", total=total)

        def progress(done: int, total_bytes: int) -> None:
            job.done, job.total = done, total_bytes

        def run() -> None:
            try:
                path = registry.pull(name, version, dest, progress=False, on_progress=progress)
                resolved = path.resolve()
                job.path = (resolved.relative_to(self.root).as_posix() if resolved.is_relative_to(self.root)
                            else str(resolved))
                job.done = job.total
                job.state = "finished"
            except TltError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # the job must end in a state the sidebar can show
                log.exception("pull %s:%s failed", name, version)
                job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"

        self._remember(job)
        threading.Thread(target=run, name=f"tlt-pull-{job.id[:8]}", daemon=True).start()
        return job

    def _remember(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.state != "running"]
            for old in done[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[old.id]
