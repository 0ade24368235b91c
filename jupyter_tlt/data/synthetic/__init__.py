"""Synthetic intelligent-video-analytics street scenes, labelled in KITTI format.

No dataset can be downloaded where jupyter-tlt runs its tests and tutorials, so this generator is
where they get data: street scenes with cars, pedestrians, cyclists and road signs among clutter,
in a "source" domain and a shifted "target" domain (dusk light, a lower camera, a noisier sensor),
so that pretraining on one and fine-tuning on the other is a real, measurable transfer.

    >>> from jupyter_tlt.data.synthetic import generate
    >>> result = generate("data/source", 500, domain="source")          # doctest: +SKIP
"""

from .dataset import GenerateResult, generate, render_crop, render_detection
from .domain import DOMAINS, Domain
from .objects import CLASSES
from .scene import (CROP_CLASSES, EMPTY_FRACTION, MAX_OCCLUSION, MAX_TRUNCATION, MIN_BOX_HEIGHT_PX,
                    OCCLUSION_LEVELS)

__all__ = ["generate", "GenerateResult", "Domain", "DOMAINS", "CLASSES", "CROP_CLASSES",
           "MIN_BOX_HEIGHT_PX", "MAX_TRUNCATION", "MAX_OCCLUSION", "OCCLUSION_LEVELS",
           "EMPTY_FRACTION", "render_detection", "render_crop"]
