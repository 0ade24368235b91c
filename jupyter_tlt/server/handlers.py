"""REST handlers of the lab sidebar (docs/sidebar-api.md): thin wrappers over the registry and the index.

Filesystem and registry work runs in the IO loop's thread pool, so a slow object store or a large
experiments tree never blocks the server.

    >>> setup_handlers(serverapp.web_app, Context(Path("/srv/work"), registry_url=None))
    # GET <base_url>/tlt/api/experiments -> {"root": "", "experiments": [...]}
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tornado.web
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.ioloop import IOLoop

from .. import __version__
from ..errors import TltError, quote_input
from ..experiment_index import ExperimentIndex, ExperimentNotFound, resolve_inside
from ..experiments import Experiment
from ..registry import NotInRegistry, Registry
from ..registry.manifest import check_name, newest_first
from ..tuning.listing import group_searches
from .dashboard import MAX_COMPARE, compare_body, lineage_answer
from .encoding import encode
from .gallery import DEFAULT_LIMIT, MAX_LIMIT, gallery_page, image_bytes
from .tensorboard import TensorBoards
from .viewers import NotViewable, view
from .bounds import check_body, check_job_id, check_path, shown_uri
from .jobs import JobManager, UnknownJob

API_VERSION = 1
DEFAULT_DEST = "pretrained"
_VERSION_FIELDS = ("created", "size", "metrics", "description")


@dataclass
class Context:
    """What every handler shares: the experiments root, the registry URL, the index and the jobs."""

    root: Path
    registry_url: str | None = None
    display_root: str = ""
    index: ExperimentIndex = field(init=False)
    jobs: JobManager = field(init=False)
    tensorboards: TensorBoards = field(init=False)

    _listing: tuple[tuple, bytes] = field(init=False, default=((), b""))

    def __post_init__(self) -> None:
        self.root = Path(self.root).expanduser().resolve()
        self.index = ExperimentIndex(self.root)
        self.jobs = JobManager(self.root)
        self.tensorboards = TensorBoards("/")  # its base URL is the server's, set by setup_handlers
        self._lock = threading.Lock()

    def registry(self) -> Registry:
        return Registry(self.registry_url)

    def experiments_body(self) -> bytes:
        """The experiments answer, encoded again only when a summary changed (a warm poll only stats files)."""
        rows = self.index.summaries()
        searches = group_searches(self.root, rows)  # which experiments are trials of a tune or compress
        with self._lock:
            if not self._listing[1] or (rows, searches) != self._listing[0]:
                body = encode({"root": self.display_root, "experiments": rows, "searches": searches}).encode()
                self._listing = ((rows, searches), body)
            return self._listing[1]


class ApiError(tornado.web.HTTPError):
    """An error answer {"message": ...} with its status code."""

    def __init__(self, status: int, message: str):
        super().__init__(status, "%s", message)
        self.message = message


class _Handler(APIHandler):
    @property
    def tlt(self) -> Context:
        return self.settings["tlt"]

    async def prepare(self) -> None:
        # the access log shows the URI: never a 5000-character or control-character one whole
        self.request.uri = shown_uri(self.request.uri)
        await super().prepare()

    @staticmethod
    def checked(check: Callable[..., Any], *args: Any) -> Any:
        """`check(*args)` for the bounds checked before any work: a core error becomes 400."""
        try:
            return check(*args)
        except TltError as exc:
            raise ApiError(400, str(exc)) from None

    async def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in the thread pool; core errors become 400 (404 for unknown things)."""
        try:
            return await IOLoop.current().run_in_executor(None, fn, *args)
        except (ExperimentNotFound, UnknownJob, NotInRegistry) as exc:
            raise ApiError(404, str(exc)) from None
        except NotViewable as exc:
            raise ApiError(415, str(exc)) from None
        except TltError as exc:
            raise ApiError(400, str(exc)) from None

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(encode(data))

    def json_body(self) -> dict:
        return self.checked(check_body, self.request.body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message}))
        else:
            super().write_error(status_code, **kwargs)


class VersionHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"version": __version__, "api": API_VERSION})


def _models(registry: Registry) -> dict:
    index = registry.index()["models"]
    rows = []
    for row in registry.models():
        versions = newest_first(index.get(row["name"], {}).get("versions", {}))
        rows.append({**{k: row.get(k) for k in ("name", "task", "arch", "input_size", "latest")},
                     "versions": versions, "size": row.get("size"), "metrics": row.get("metrics") or {},
                     "description": row.get("description")})
    return {"registry": registry.url, "models": rows}


def _versions(registry: Registry, name: str) -> dict:
    check_name(name, "model name")
    found = registry.versions(name)
    return {"name": name, "versions": [{"version": v, **{k: found.details.get(v, {}).get(k) for k in _VERSION_FIELDS}}
                                       for v in found]}


class ModelsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.blocking(lambda: _models(self.tlt.registry())))


class VersionsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.checked(check_name, name, "model name")
        self.reply(await self.blocking(lambda: _versions(self.tlt.registry(), name)))


class PullHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        name, version, dest = body.get("name"), body.get("version"), body.get("dest", DEFAULT_DEST)
        if not isinstance(name, str) or not name:
            raise ApiError(400, 'the request body has no "name": send {"name": MODEL, "version"?: VERSION, '
                                '"dest"?: FOLDER} with a model name from registry/models')
        self.checked(check_name, name, "model name")
        if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int))):
            raise ApiError(400, f'"version" is {quote_input(version)}; send a version string from '
                                f"registry/models/{name}/versions, or leave it out for the latest")
        version = None if version is None else self.checked(check_name, str(version), "version")
        self.checked(check_path, dest, '"dest"')
        ctx = self.tlt

        def start():
            registry = ctx.registry()
            folder = resolve_inside(ctx.root, dest)
            chosen = registry.resolve_version(name, version)
            total = sum(f["size"] for f in registry.manifest(name, chosen)["files"])
            return ctx.jobs.start_pull(registry, name, chosen, folder, total)

        job = await self.blocking(start)
        self.reply({"job": job.id}, status=202)


class JobHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        self.checked(check_job_id, job_id)
        job = await self.blocking(self.tlt.jobs.get, job_id)
        self.reply(job.to_dict())


class ExperimentsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        body = await self.blocking(self.tlt.experiments_body)
        self.finish(body)


class ExperimentHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        self.checked(check_path, path, "experiment path")
        self.reply(await self.blocking(self.tlt.index.detail, path))


class LineageHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        self.checked(check_path, path, "model path")
        self.reply(await self.blocking(lineage_answer, self.tlt.index, path))


class CompareHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        paths = self.get_query_arguments("path")
        if len(paths) < 2:
            raise ApiError(400, "compare needs two or more experiments: send ?path=A&path=B with paths "
                                "from the experiments list")
        if len(paths) > MAX_COMPARE:
            raise ApiError(400, f"{len(paths)} experiments: a comparison shows at most {MAX_COMPARE}; "
                                "select fewer")
        for path in paths:
            self.checked(check_path, path, "experiment path")
        # encoded in the thread pool too: a 10-run answer is ~50 KB of JSON, kept while no run changed
        self.finish(await self.blocking(compare_body, self.tlt.index, paths))


class StopHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        self.checked(check_path, path, "experiment path")
        index = self.tlt.index

        def stop():
            status = index.detail(path)["status"]  # 404 for a folder without experiment.json
            if status != "running":
                raise ApiError(409, f"{path!r} is {status}, not running: only a running training can be stopped")
            Experiment(resolve_inside(index.root, path)).request_stop()
            return {"path": path, "stop": "requested"}

        self.reply(await self.blocking(stop), status=202)


class TensorBoardHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        self.checked(check_path, path, "experiment path")
        ctx = self.tlt

        def start():
            ctx.index.detail(path, artifacts=False)  # 404 for a folder without experiment.json
            board = ctx.tensorboards.start(resolve_inside(ctx.root, path))
            return {"path": path, "url": board.url}

        self.reply(await self.blocking(start))


class TensorBoardProxy(JupyterHandler):
    """Forwards an authenticated client's requests to the experiment's TensorBoard on loopback."""

    def check_xsrf_cookie(self) -> None:
        # TensorBoard's own pages POST read-only data queries without Jupyter's _xsrf token; a cross-site
        # page cannot read the answers (same-origin policy) and the client must still be authenticated
        return

    @tornado.web.authenticated
    async def get(self, board_id: str, rest: str | None) -> None:
        await self._forward(board_id, rest)

    @tornado.web.authenticated
    async def post(self, board_id: str, rest: str | None) -> None:
        await self._forward(board_id, rest)

    async def _forward(self, board_id: str, rest: str | None) -> None:
        board = self.settings["tlt"].tensorboards.get(board_id)
        if board is None:
            raise tornado.web.HTTPError(404, "no TensorBoard %s: open it again from the TLT sidebar", board_id)
        if not rest:  # TensorBoard's relative URLs need the trailing slash
            self.redirect(self.request.path + "/" + (f"?{self.request.query}" if self.request.query else ""))
            return
        query = f"?{self.request.query}" if self.request.query else ""
        request = HTTPRequest(f"http://127.0.0.1:{board.port}{rest}{query}", method=self.request.method,
                              body=self.request.body if self.request.method == "POST" else None,
                              headers={k: v for k, v in self.request.headers.items()
                                       if k.lower() in ("content-type", "accept")},
                              follow_redirects=False, request_timeout=120)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            raise tornado.web.HTTPError(502, "TensorBoard did not answer: %s", response.error)
        self.set_status(response.code)
        for name in ("Content-Type", "Location", "Cache-Control"):
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.finish(response.body or b"")


class ViewHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        self.checked(check_path, path, "file path")
        ctx = self.tlt

        def answer():
            target = resolve_inside(ctx.root, path)
            if not target.exists():
                raise ExperimentNotFound(f"{path!r}: no such file under {ctx.root}; pick an artifact from the "
                                         "experiments list")
            return view(target)

        self.reply(await self.blocking(answer))


class GalleryHandler(_Handler):
    """GET gallery/<inference run>?offset=0&limit=60: a page of its images with their detections."""

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        self.checked(check_path, path, "inference run path")
        offset = self._count("offset", 0, 0, None)
        limit = self._count("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        self.reply(await self.blocking(gallery_page, self.tlt.root, path, offset, limit))

    def _count(self, name: str, default: int, low: int, high: int | None) -> int:
        raw = self.get_query_argument(name, str(default))
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < low or (high and int(raw) > high):
            bounds = f"{low} to {high}" if high else f"{low} or more"
            raise ApiError(400, f"{name}={quote_input(raw, 20)}: give a whole number, {bounds}")
        return int(raw)


class ImageHandler(_Handler):
    """GET image/<path>[?thumbnail=1]: an image under the experiments root (a gallery's), or its thumbnail."""

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        self.checked(check_path, path, "image path")
        thumbnail = self.get_query_argument("thumbnail", "0") not in ("0", "")
        data, content_type = await self.blocking(image_bytes, self.tlt.root, path, thumbnail)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "private, max-age=300")  # tornado's ETag answers a revalidation
        self.finish(data)

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        # APIHandler.finish labels every answer JSON; an image keeps its own type (errors set theirs)
        return JupyterHandler.finish(self, *args, **kwargs)


def display_root(root: Path, server_root: str | os.PathLike) -> str:
    """The experiments root as the file browser names it: relative to the server root ('' if the same)."""
    root, server = Path(root).expanduser().resolve(), Path(server_root).expanduser().resolve()
    if root.is_relative_to(server):
        relative = root.relative_to(server).as_posix()
        return "" if relative == "." else relative
    return str(root)


def setup_handlers(web_app: tornado.web.Application, context: Context) -> None:
    """Register the routes under `<base_url>/tlt/api/`."""
    api = url_path_join(web_app.settings["base_url"], "tlt", "api")
    context.tensorboards.base_url = web_app.settings["base_url"]
    web_app.settings["tlt"] = context
    web_app.add_handlers(".*$", [
        (url_path_join(api, "version"), VersionHandler),
        (url_path_join(api, "registry", "models"), ModelsHandler),
        (url_path_join(api, "registry", "models", "([^/]+)", "versions"), VersionsHandler),
        (url_path_join(api, "registry", "pull"), PullHandler),
        (url_path_join(api, "jobs", "([^/]+)"), JobHandler),
        (url_path_join(api, "experiments") + "/?", ExperimentsHandler),
        (url_path_join(api, "experiments", "(.+)"), ExperimentHandler),
        (url_path_join(api, "lineage", "(.+)"), LineageHandler),
        (url_path_join(api, "compare"), CompareHandler),
        (url_path_join(api, "view", "(.+)"), ViewHandler),
        (url_path_join(api, "gallery", "(.+)"), GalleryHandler),
        (url_path_join(api, "image", "(.+)"), ImageHandler),
        (url_path_join(api, "stop", "(.+)"), StopHandler),
        (url_path_join(api, "tensorboard", "(.+)"), TensorBoardHandler),
        (url_path_join(web_app.settings["base_url"], "tlt", "tensorboard", "([0-9a-f]{16})") + "(/.*)?",
         TensorBoardProxy),
    ])
