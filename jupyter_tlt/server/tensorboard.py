"""TensorBoard for an experiment, behind Jupyter's authentication.

One TensorBoard process per experiment, started on first request on loopback (never reachable from
outside); `TensorBoardProxy` forwards `<base_url>tlt/tensorboard/<id>/<path>` to its `/<path>`, only for
clients Jupyter has authenticated (TensorBoard's pages use relative URLs, so they work below any prefix). A TensorBoard whose process ended is started again.

    >>> boards = TensorBoards(base_url="/")
    >>> boards.start(Path("/srv/work/runs/detect")).url
    '/tlt/tensorboard/3f2a9c.../'
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_server.utils import url_path_join

from ..errors import TltError
from ..experiments import Experiment

START_TIMEOUT_S = 90


@dataclass
class Board:
    id: str
    logdir: Path
    port: int
    process: subprocess.Popen
    url: str

    def alive(self) -> bool:
        return self.process.poll() is None


class TensorBoards:
    """The TensorBoards started by this server, by experiment folder; stopped with the server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._boards: dict[str, Board] = {}
        self._lock = threading.Lock()

    def prefix(self, board_id: str) -> str:
        return url_path_join(self.base_url, "tlt", "tensorboard", board_id)

    def start(self, folder: Path) -> Board:
        """The running TensorBoard of `folder` (an experiment), started if needed (blocks until it answers)."""
        logdir = Experiment(folder).tensorboard_dir
        if not logdir.is_dir():
            raise TltError(f"{folder.name}: no tensorboard/ folder yet; it appears once a training has run an epoch")
        board_id = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
        with self._lock:
            board = self._boards.get(board_id)
            if board and board.alive():
                return board
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                 "--port", str(port), "--reload_interval", "15"],  # served at its root: the proxy maps paths
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            board = Board(board_id, logdir, port, process, self.prefix(board_id) + "/")
            self._boards[board_id] = board
        _wait_for(board)
        return board

    def get(self, board_id: str) -> Board | None:
        with self._lock:
            board = self._boards.get(board_id)
        return board if board and board.alive() else None

    def stop_all(self) -> None:
        with self._lock:
            for board in self._boards.values():
                if board.alive():
                    board.process.terminate()
            self._boards.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(board: Board) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not board.alive():
            raise TltError(f"TensorBoard for {board.logdir} exited with {board.process.returncode} at start; "
                           f"run `tensorboard --logdir {board.logdir}` in a terminal to see why")
        try:
            with socket.create_connection(("127.0.0.1", board.port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    board.process.terminate()
    raise TltError(f"TensorBoard for {board.logdir} did not answer within {START_TIMEOUT_S} s")
