"""`tlt infer` for a classifier: predictions.csv with the top class, its confidence and every class's
probability.

    counts, written = write_csv(model, spec, ["cat", "dog"], files, Path("runs/cls/infer"), 8, True)
"""

from __future__ import annotations

import csv
import io

import numpy as np

from ... import atomic
from ...progress import bar


def write_csv(model, spec, class_names, files, out, batch_size, progress) -> tuple[dict[str, int], list]:
    """(images per predicted class, [predictions.csv])."""
    from ...data.loader import image_files_dataset
    from ...spec import views

    _, height, width = views.input_shape(spec)
    rows, counts = [], {c: 0 for c in class_names}
    with bar(total=len(files), desc="infer", unit="img", enabled=progress) as pbar:
        for images, meta in image_files_dataset(files, output_size=(height, width), batch_size=batch_size,
                                                letterbox=False):
            probs = np.asarray(model(images, training=False))
            for p, index in zip(probs, meta["index"].numpy()):
                best = int(np.argmax(p))
                counts[class_names[best]] += 1
                rows.append([str(files[int(index)]), class_names[best], f"{p[best]:.4f}",
                             *(f"{v:.4f}" for v in p)])
                pbar.update(1)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["image", "class", "confidence", *class_names])
    writer.writerows(rows)
    return counts, [atomic.write_text(out / "predictions.csv", text.getvalue())]
