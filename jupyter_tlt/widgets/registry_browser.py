"""`RegistryBrowser`: list the registry's models and versions, pull one into a folder.

    from jupyter_tlt.widgets import RegistryBrowser
    RegistryBrowser(dest="pretrained")                 # the default registry ($TLT_REGISTRY or local)
    RegistryBrowser(Registry("s3://team-models/tlt"))  # a `jupyter_tlt.registry.Registry`

It shows what `Registry.models()`, `versions(name)` and `pull(name, version, dest)` return.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w

from ..registry import Registry


class RegistryBrowser(w.VBox):
    """Models list, versions, details, destination folder and a Pull button."""

    def __init__(self, registry: Registry | None = None, *, dest: str | Path = "pretrained"):
        from ..errors import TltError

        reason = ""
        if registry is None:
            try:
                registry = Registry()
            except (TltError, OSError) as exc:  # e.g. a $TLT_REGISTRY that cannot be opened
                registry, reason = None, f"the model registry could not be opened: {exc}"
        self.registry = registry
        self.pulled: Path | None = None
        title = w.HTML("<b>Model registry</b>")
        if registry is None:
            self.message = w.HTML(f"<span style='color:#b35900'>{html.escape(reason)}</span>")
            super().__init__([title, self.message])
            return
        self.message = w.HTML()
        self.models = w.Select(description="model", rows=8, layout=w.Layout(width="420px"))
        self.versions = w.Dropdown(description="version")
        self.details = w.HTML()
        self.dest = w.Text(value=str(dest), description="pull into")
        self.pull_button = w.Button(description="Pull", button_style="primary", icon="download")
        self.models.observe(self._on_model, names="value")
        self.pull_button.on_click(lambda _: self.pull())
        self._catalogue: dict[str, dict] = {}
        super().__init__([title, w.HBox([self.models, w.VBox([self.versions, self.details])]),
                          w.HBox([self.dest, self.pull_button]), self.message])
        self.refresh()

    def refresh(self) -> None:
        """Ask the registry for its models again."""
        try:
            self._catalogue = {m["name"]: m for m in self.registry.models()}
        except Exception as exc:  # network or registry trouble: say it, keep the widget alive
            self.message.value = f"<span style='color:#b00'>could not list models: {html.escape(str(exc))}</span>"
            return
        # models with weights first, and the browser opens on one of them
        names = sorted(self._catalogue, key=lambda n: not self._catalogue[n].get("versions", True))
        self.models.options = names
        if names and self.models.value is None:
            self.models.value = names[0]

    def _on_model(self, change) -> None:
        name = change["new"]
        if not name:
            return
        try:
            versions = list(self.registry.versions(name))
            self.versions.options = versions
            self.versions.value = versions[0] if versions else None
        except Exception as exc:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            self.versions.options = []
        from ..registry.results import cell

        info = self._catalogue.get(name, {})
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                       f"<td>{html.escape(cell(k, v))}</td></tr>" for k, v in info.items() if k != "name")
        self.details.value = f"<table>{rows}</table>"
        empty = not self.versions.options
        self.pull_button.disabled = empty
        self.pull_button.tooltip = "no version of this model has been pushed yet: nothing to pull" if empty else ""

    def pull(self) -> Path | None:
        """Pull the chosen model and version into the destination folder; returns its path."""
        name, version = self.models.value, self.versions.value
        if not name or not version:
            self.message.value = "choose a model and a version first"
            return None
        try:
            self.pulled = Path(self.registry.pull(name, version, self.dest.value))
        except Exception as exc:
            self.message.value = f"<span style='color:#b00'>pull failed: {html.escape(str(exc))}</span>"
            return None
        self.message.value = (f"pulled {html.escape(name)} {html.escape(version)} to "
                              f"<code>{html.escape(str(self.pulled))}</code>")
        return self.pulled
