"""Real KITTI frames come in several sizes (1224x370, 1238x374, 1242x375): conversion keeps each
frame's own size and boxes, and training resizes them all to the model input."""

from __future__ import annotations

from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.tfrecord_io import read_records
from jupyter_tlt.tf_import import tensorflow
from jupyter_tlt.train import train
from kitti_factory import conversion_spec, label_line, make_kitti
from train_fixtures import detection_spec

SIZES = [(1224, 370), (1238, 374), (1242, 375)]


def test_mixed_kitti_frame_sizes_convert_and_train(tmp_path):
    roots = [make_kitti(tmp_path / "kitti", {f"{w}_{i}": [label_line("car", 600, 180, 760, 300),
                                                          label_line("pedestrian", 1100, 150, 1140, 260)]
                                             for i in range(3)}, width=w, height=h)
             for w, h in SIZES]
    assert len(set(roots)) == 1
    records = tmp_path / "records" / "kitti"
    dataset_convert(conversion_spec(roots[0], val_split=25, num_shards=1), records, progress=False)

    tf = tensorflow()
    sizes, x2 = set(), set()
    for shard in sorted(records.parent.glob("kitti-fold-*")):
        for raw in read_records(shard):
            f = tf.train.Example.FromString(raw).features.feature
            sizes.add((f["frame/width"].int64_list.value[0], f["frame/height"].int64_list.value[0]))
            x2.add(f["target/coordinates_x2"].float_list.value[1])
    assert sizes == set(SIZES) and x2 == {1140.0}  # pixels of each frame, not rescaled

    spec = detection_spec(f"{records}-fold-*", epochs=1, width=160, height=48,
                          classes=("car", "pedestrian"))
    result = train(spec, tmp_path / "run", progress=False)
    assert result.model_path.exists()
