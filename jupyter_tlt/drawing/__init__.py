"""Pictures of results: labelled boxes on images (`boxes`), error-analysis charts (`figures`),
the look every chart shares in JupyterLab's light and dark themes (`chart_style`).

Core code (no IPython): `infer` and the error analysis write these pictures as files; the notebook
views embed the same pictures. Pillow and matplotlib are imported inside the functions."""
