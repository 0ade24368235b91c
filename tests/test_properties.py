"""Property tests (hypothesis) of the two readers users feed by hand: KITTI label files and specs.

Random bytes, random text and odd-but-well-formed inputs must either parse or raise one of our
TltError types, never anything else (no IndexError, ValueError, RecursionError, protobuf error...).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings, strategies as st

from jupyter_tlt.data.kitti import parse_line, read_labels, read_labels_lenient
from jupyter_tlt.errors import TltError
from jupyter_tlt.spec import load_conversion_spec, load_experiment_spec

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.sampled_from(["-0", "1e400", "-1e-400", "0x10", "1_000", "١٢", "+5", ".5", "5.", "nan", "-inf", "1e", ""]),
)
words = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12)
tokens = st.one_of(numbers, words)


def label_lines():
    """Lines of 0 to 17 fields: mostly numbers after a class name, sometimes anything."""
    return st.builds(lambda cls, fields, sep: sep.join([cls, *fields]),
                     st.one_of(st.sampled_from(["car", "Car", "DontCare", "pedestrian", "", "čar"]), words),
                     st.lists(tokens, min_size=0, max_size=17), st.sampled_from([" ", "\t", "  ", " \t "]))


def only_our_errors(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except TltError:
        return None


@FAST
@given(label_lines())
def test_a_label_line_parses_or_raises_our_error(line):
    obj = only_our_errors(parse_line, line, "x.txt", 1)
    if obj is not None:  # what parses is sane: finite numbers, a real box
        assert obj.type and obj.x1 < obj.x2 and obj.y1 < obj.y2
        assert all(math.isfinite(v) for v in (obj.x1, obj.y1, obj.x2, obj.y2, obj.truncated))


@FAST
@given(st.binary(max_size=400))
def test_a_label_file_of_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("labels") / "000001.txt"
    path.write_bytes(data)
    only_our_errors(read_labels, path)
    objects, problems = read_labels_lenient(path)  # never raises
    assert isinstance(objects, list) and isinstance(problems, list)


@FAST
@given(st.lists(label_lines(), max_size=6), st.sampled_from(["\n", "\r\n", "\r"]))
def test_a_label_file_of_odd_lines(tmp_path_factory, lines, newline):
    path = tmp_path_factory.mktemp("labels") / "000002.txt"
    path.write_bytes(newline.join(lines).encode("utf-8", "surrogatepass"))
    only_our_errors(read_labels, path)
    read_labels_lenient(path)


FIELDS = {
    "experiment": ["random_seed", "dataset_config", "augmentation_config", "model_config", "training_config",
                   "evaluation_config", "postprocessing_config", "cost_function_config", "train_config",
                   "batch_size_per_gpu", "num_epochs", "arch", "num_layers", "input_image_size",
                   "output_image_width", "output_image_height", "preprocessing", "tfrecords_path",
                   "data_sources", "target_class_mapping", "key", "value", "validation_fold",
                   "first_validation_epoch", "learning_rate", "soft_start_annealing_schedule", "regularizer",
                   "type", "weight", "dbscan_eps", "clustering_config", "target_class_config"],
    "conversion": ["kitti_config", "root_directory_path", "image_dir_name", "label_dir_name", "image_extension",
                   "partition_mode", "num_partitions", "num_shards", "val_split", "image_directory_path",
                   "target_class_mapping", "key", "value"],
}
values = st.one_of(numbers, words.map(lambda w: '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"'),
                   st.sampled_from(["L2", "NMS", "true", "[1, 2]", "{", "}", "<>", '"3,96,64"', "-", "'x'"]))


def spec_texts(kind: str, depth: int = 3):
    """Well-formed-looking spec text: known field names, random values, random nesting."""
    name = st.sampled_from(FIELDS[kind])
    scalar = st.builds(lambda n, sep, v: f"{n}{sep}{v}", name, st.sampled_from([": ", ":", " ", ": ,"]), values)
    if depth == 0:
        return scalar
    block = st.builds(lambda n, body: f"{n} {{ {' '.join(body)} }}", name,
                      st.lists(spec_texts(kind, depth - 1), max_size=4))
    return st.one_of(scalar, block)


@FAST
@given(st.lists(spec_texts("experiment"), max_size=6))
def test_an_odd_experiment_spec_parses_or_raises_our_error(parts):
    only_our_errors(load_experiment_spec, "\n".join(parts), name="<spec>")


@FAST
@given(st.lists(spec_texts("conversion"), max_size=6))
def test_an_odd_conversion_spec_parses_or_raises_our_error(parts):
    only_our_errors(load_conversion_spec, "\n".join(parts), name="<spec>")


@FAST
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_random_text_as_a_spec(text):
    only_our_errors(load_experiment_spec, text, name="<spec>")
    only_our_errors(load_conversion_spec, text, name="<spec>")


@FAST
@given(st.binary(max_size=300))
def test_a_spec_file_of_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("specs") / "spec.cfg"
    path.write_bytes(data)
    only_our_errors(load_experiment_spec, str(path))
    only_our_errors(load_conversion_spec, str(path))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=50, max_value=20000), st.sampled_from(["{", "model_config {", "[", "{ a: "]))
def test_deep_nesting_is_our_error(depth, opener):
    only_our_errors(load_experiment_spec, opener * depth + "}" * depth, name="<spec>")


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS["experiment"]),
                       st.recursive(st.one_of(st.integers(-2**40, 2**40), st.floats(), st.text(max_size=8),
                                              st.booleans(), st.none()),
                                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.sampled_from(FIELDS["experiment"]),
                                                                            inner, max_size=3)),
                                    max_leaves=8), max_size=5))
def test_an_odd_spec_dict_parses_or_raises_our_error(spec):
    only_our_errors(load_experiment_spec, spec, name="<dict>")
