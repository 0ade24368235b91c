"""Random weights for tests of weight loaders: fresh batch norms are the identity, which hides bugs."""

from __future__ import annotations

import numpy as np


def randomize(model, seed: int = 0):
    """Give every layer of `model` random weights, and each BN random gamma, beta and statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if type(layer).__name__ == "BatchNormalization":
            g, b, m, v = (w.shape for w in weights)
            weights = [rng.uniform(0.5, 1.5, g), rng.normal(0, 0.1, b), rng.normal(0, 0.1, m),
                       rng.uniform(0.5, 2.0, v)]
        elif weights:
            weights = [rng.normal(0, 0.05, w.shape) for w in weights]
        layer.set_weights([np.asarray(w, np.float32) for w in weights])
    return model
