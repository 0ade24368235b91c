"""Pictures of results: labelled boxes on images (`boxes`), error-analysis charts (`figures`).

Core code (no IPython): `infer` and the error analysis write these pictures as files; the notebook
views embed the same pictures. Pillow and matplotlib are imported inside the functions."""
