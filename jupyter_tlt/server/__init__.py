"""The jupyter_server extension behind the lab sidebar: registration and configuration only.

Enabled by `jupyter-config/server-config/jupyter_tlt.json`; the routes are in `handlers.py`.

    $ jupyter server --TltExtension.experiments_root=~/work --TltExtension.registry=s3://team/tlt
"""

from __future__ import annotations

import threading

from traitlets import Unicode, default
from traitlets.config import Configurable


class TltExtension(Configurable):
    """Settings of the sidebar's REST API (`c.TltExtension.*` in jupyter_server_config.py)."""

    experiments_root = Unicode(
        help="Folder searched for experiments and where pulls land; default: the server's root_dir.",
    ).tag(config=True)
    registry = Unicode(
        None, allow_none=True,
        help="Registry URL (folder, s3://, https://); default: $TLT_REGISTRY or the local registry folder.",
    ).tag(config=True)

    @default("experiments_root")
    def _default_root(self) -> str:
        return str(getattr(self.parent, "root_dir", "") or ".")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_tlt.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Add the `<base_url>/tlt/api/` routes to the running server."""
    from .handlers import Context, display_root, setup_handlers

    settings = TltExtension(parent=serverapp)
    context = Context(settings.experiments_root, settings.registry or None,
                      display_root(settings.experiments_root, serverapp.root_dir))
    setup_handlers(serverapp.web_app, context)
    import atexit

    atexit.register(context.tensorboards.stop_all)  # the TensorBoards started for the sidebar end with the server
    # scan the experiments once in the background now, so the sidebar's first request finds a warm index
    threading.Thread(target=context.index.summaries, name="jupyter-tlt-index", daemon=True).start()
    serverapp.log.info("jupyter_tlt: sidebar API at %stlt/api/ (experiments in %s, registry %s)",
                       serverapp.base_url, context.root, settings.registry or "default")
