"""Channel dependencies of a Keras functional model: which filters must be pruned together.

Every tensor's channel axis is described as a list of segments ``(group, size)``: a convolution or
dense layer starts a new group (its filters), channel-wise layers (batch norm, activations, pooling)
pass their input's segments on, ``Concatenate`` joins them, and element-wise layers (``Add`` of a
residual block...) merge the groups of their inputs into one equalization group, which keeps the
same channel indices in every member. Groups that reach a model output, the input image's channels
and groups of excluded layers are fixed: never pruned.

    graph = ChannelGraph.from_model(model, excluded=["block_1a_conv_1"])
    graph.groups[g].members      # the conv/dense layers whose filters group g prunes together
    graph.in_segments["conv2"]   # which groups the input channels of conv2 come from
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import DataError
from ..models.naming import HEAD_LAYERS

FILTER_LAYERS = {"Conv2D": "filters", "Dense": "units"}   # layer class -> config key of its width
CHANNELWISE = {"BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Dropout",
               "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "MaxPooling2D", "AveragePooling2D",
               "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
               "DepthwiseConv2D", "Identity"}
ELEMENTWISE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
SUPPORTED = sorted({"InputLayer", "Concatenate", *FILTER_LAYERS, *CHANNELWISE, *ELEMENTWISE})

Segments = list[tuple[int, int]]  # (group id, channels)


@dataclass
class Group:
    """Channels pruned as one: the layers whose filters produce them, and whether they may be pruned."""

    size: int
    members: list[str] = field(default_factory=list)
    fixed_by: str = ""   # why it is never pruned ("output", "input", "excluded: conv1"...), "" if prunable

    @property
    def prunable(self) -> bool:
        return not self.fixed_by and bool(self.members)


@dataclass
class ChannelGraph:
    """Per layer: class, config, inbound layer names, input and output channel segments; the groups."""

    layers: dict[str, dict]              # name -> {"class_name", "config", "inbound"}
    in_segments: dict[str, Segments]
    out_segments: dict[str, Segments]
    groups: dict[int, Group]

    @classmethod
    def from_model(cls, model: Any, excluded: Iterable[str] = ()) -> "ChannelGraph":
        """Analyse ``model`` (a flat functional model); ``excluded`` layers keep all their channels.

        Raises DataError naming the layer for anything the pruner cannot follow, and for excluded
        layer names the model does not have.
        """
        config = model.get_config()
        if "layers" not in config or "output_layers" not in config:
            raise DataError(f"model {model.name!r} is not a functional model; pruning needs the layer graph "
                            "of a model built by jupyter-tlt (or keras.Model(inputs, outputs))")
        layers = {}
        for entry in config["layers"]:
            name = entry["config"]["name"]
            if len(entry.get("inbound_nodes", [])) > 1:
                raise DataError(f"layer {name!r} ({entry['class_name']}) is called more than once (a shared "
                                "layer); pruning supports each layer used once")
            inbound = [h[0] for node in entry.get("inbound_nodes", []) for h in _histories(node)]
            layers[name] = {"class_name": entry["class_name"], "config": entry["config"], "inbound": inbound}
        graph = cls(layers, {}, {}, {})
        graph._trace(model)
        outputs = config["output_layers"]
        outputs = [outputs] if outputs and isinstance(outputs[0], str) else outputs  # one output: not nested
        graph._fix_outputs([out[0] for out in outputs])
        graph._fix_excluded(list(excluded))
        return graph

    # -- analysis --------------------------------------------------------------------------------
    def _new_group(self, size: int, member: str | None = None, fixed_by: str = "") -> int:
        gid = len(self.groups)
        self.groups[gid] = Group(int(size), [member] if member else [], fixed_by)
        self._parent[gid] = gid
        return gid

    def _find(self, gid: int) -> int:
        while self._parent[gid] != gid:
            self._parent[gid] = self._parent[self._parent[gid]]
            gid = self._parent[gid]
        return gid

    def _union(self, a: int, b: int) -> None:
        a, b = self._find(a), self._find(b)
        if a != b:
            self._parent[b] = a
            self.groups[a].members += self.groups[b].members
            self.groups[a].fixed_by = self.groups[a].fixed_by or self.groups[b].fixed_by

    def _trace(self, model) -> None:
        self._parent: dict[int, int] = {}
        shapes = {layer.name: layer for layer in model.layers}
        for name, info in self.layers.items():
            kind, conf, inbound = info["class_name"], info["config"], info["inbound"]
            ins = [self.out_segments[src] for src in inbound]
            if kind == "InputLayer":
                channels = int(conf["batch_shape"][-1])
                out = [(self._new_group(channels, fixed_by="input image channels"), channels)]
            elif kind in FILTER_LAYERS:
                if kind == "Conv2D" and int(conf.get("groups", 1)) != 1:
                    raise _unsupported(name, "Conv2D with groups > 1")
                width = int(conf[FILTER_LAYERS[kind]])
                out = [(self._new_group(width, member=name), width)]
            elif kind in CHANNELWISE:
                if kind == "DepthwiseConv2D" and int(conf.get("depth_multiplier", 1)) != 1:
                    raise _unsupported(name, "DepthwiseConv2D with depth_multiplier > 1")
                if kind == "Activation" and conf.get("activation") == "softmax":
                    raise _unsupported(name, "softmax across channels inside the network")
                out = ins[0]
            elif kind in ELEMENTWISE:
                out = self._equalize(name, ins)
            elif kind == "Concatenate":
                if int(conf.get("axis", -1)) not in (-1, len(shapes[name].output.shape) - 1):
                    raise _unsupported(name, "Concatenate along an axis other than channels")
                out = [seg for segs in ins for seg in segs]
            else:
                raise _unsupported(name, kind)
            self.in_segments[name] = ins[0] if len(ins) == 1 else (out if ins else [])
            self.out_segments[name] = out
        # Canonical group ids everywhere, then only the root groups remain.
        canon = lambda segs: [(self._find(g), n) for g, n in segs]  # noqa: E731
        self.in_segments = {k: canon(v) for k, v in self.in_segments.items()}
        self.out_segments = {k: canon(v) for k, v in self.out_segments.items()}
        self.groups = {g: grp for g, grp in self.groups.items() if self._find(g) == g}

    def _equalize(self, name: str, ins: list[Segments]) -> Segments:
        """Merge the groups an element-wise layer adds together (same channel indices in all inputs)."""
        first = ins[0]
        if all([n for _, n in segs] == [n for _, n in first] for segs in ins):
            for segs in ins[1:]:
                for (a, _), (b, _) in zip(first, segs):
                    self._union(a, b)
        else:  # inputs concatenated differently: keep every channel of every input
            for segs in ins:
                for g, _ in segs:
                    self.groups[self._find(g)].fixed_by = f"element-wise layer {name} mixes channel layouts"
        return first

    def _fix_outputs(self, outputs: list[str]) -> None:
        for name in outputs:
            for g, _ in self.out_segments[name]:
                self.groups[g].fixed_by = self.groups[g].fixed_by or f"model output {name}"
        for name in HEAD_LAYERS:
            if name in self.out_segments:
                for g, _ in self.out_segments[name]:
                    self.groups[g].fixed_by = self.groups[g].fixed_by or f"output head {name}"

    def _fix_excluded(self, excluded: list[str]) -> None:
        for name in excluded:
            if name not in self.layers:
                close = difflib.get_close_matches(name, list(self.layers), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else "; list the names with tlt prune --help"
                raise DataError(f"-el/--excluded_layers: the model has no layer {name!r}{hint}")
            for g, _ in self.out_segments[name]:
                self.groups[g].fixed_by = self.groups[g].fixed_by or f"excluded layer {name}"

    # -- queries ---------------------------------------------------------------------------------
    def prunable_groups(self) -> dict[int, Group]:
        return {g: grp for g, grp in self.groups.items() if grp.prunable}

    def filter_layers(self) -> list[str]:
        """Conv2D and Dense layers, in graph order."""
        return [n for n, info in self.layers.items() if info["class_name"] in FILTER_LAYERS]


def _histories(node: Any):
    """The ``keras_history`` entries ([layer, node, tensor]) anywhere in a serialized call node."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                yield item["config"]["keras_history"]
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(list(item)))


def _unsupported(name: str, what: str) -> DataError:
    return DataError(f"layer {name!r} ({what}) is not supported by the pruner; supported layers: "
                     f"{', '.join(SUPPORTED)}. Models built by jupyter-tlt prune as they are.")
