"""`ErrorBrowser`: the worst validation images of an error analysis, with a confidence slider.

    r = %tlt evaluate detection -m runs/detect/weights/model.keras --analysis
    ErrorBrowser(r.analysis)

A thin view over `ErrorAnalysis` (``tasks/detectnet_v2/error_analysis.py``): the slider sets one
threshold for every class (`ErrorAnalysis.at`), "per-class thresholds" goes back to the chosen ones;
the table, the confusion matrix and the images are redrawn. The static copy of the same view (`index.html` under
evaluate/analysis/, and the result's HTML) is what survives without a kernel.
"""

from __future__ import annotations

import base64
import html

import ipywidgets as w

from ..metrics.analysis import FP, MISSED

IMAGES = 8


class ErrorBrowser(w.VBox):
    def __init__(self, analysis, images: int = IMAGES):
        self.analysis, self.images = analysis, images
        chosen = [v for v in analysis.thresholds.values.values() if v is not None]
        top = max([float(c.thresholds[0]) for c in analysis.curves.values() if len(c.thresholds)] + [1.0])
        self.per_class = w.Checkbox(value=True, description="per-class thresholds", indent=False)
        self.slider = w.FloatSlider(value=min(chosen) if chosen else 0.0, min=0.0, max=round(top, 2),
                                    step=0.01, description="confidence", continuous_update=False,
                                    disabled=True, readout_format=".2f")
        self.order = w.ToggleButtons(options=[("most missed", MISSED), ("most false positives", FP)],
                                     value=MISSED)
        self.table = w.HTML()
        self.gallery = w.HTML()
        self.confusion = w.HTML()
        for control in (self.per_class, self.slider, self.order):
            control.observe(lambda _: self.redraw(), names="value")
        super().__init__([w.HBox([self.per_class, self.slider]), self.order, self.table, self.confusion,
                          self.gallery])
        self.redraw()

    def current(self):
        """The analysis at the controls' thresholds."""
        self.slider.disabled = self.per_class.value
        return self.analysis if self.per_class.value else self.analysis.at(self.slider.value)

    def redraw(self) -> None:
        from ..drawing.figures import confusion_figure, figure_png
        from ..tasks.detectnet_v2.error_analysis import figure_cell, jpeg_bytes

        a = self.current()
        outcomes = a.outcomes()
        self.table.value = (f"<p>{html.escape(a.thresholds.describe())}</p>"
                            + a.summary().to_html(float_format="{:.3f}".format, na_rep="-"))
        png = figure_png(confusion_figure(a.confusion(), a.class_names))
        self.confusion.value = f"<img src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"
        worst = a.worst(self.order.value, self.images)
        cells = [figure_cell("data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(a.picture(i, outcomes[i]), 320))
                              .decode(), outcomes[i]) for i in worst]
        self.gallery.value = ("<div style='display:flex;flex-wrap:wrap'>" + "".join(cells) + "</div>"
                              if cells else "<p>no image has this kind of error at this threshold</p>")
