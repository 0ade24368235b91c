"""Pieces of the `train` step: settings read from the spec, callbacks, distribution."""
