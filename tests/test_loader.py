"""The tf.data loader: letterbox geometry, augmentation that moves boxes with pixels, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tlt import DataError
from jupyter_tlt.data.augment import Augmentation
from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.loader import detection_dataset, record_files
from kitti_factory import conversion_spec, label_line, make_kitti
from PIL import Image

CLASSES = ["car", "pedestrian"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loader")
    frames = {f"{i:06d}": [label_line("Car", 16, 8, 80, 40), label_line("pedestrian", 100, 20, 112, 60),
                           label_line("cyclist", 4, 4, 30, 30)] for i in range(6)}
    frames["000005"] = []
    root = make_kitti(tmp / "kitti", frames, width=128, height=64, modes={"000003": "L", "000004": "RGBA"})
    dataset_convert(conversion_spec(root, val_split=0, num_shards=2), tmp / "rec" / "k",
                    progress=False)
    return root, str(tmp / "rec" / "k-fold-*")


def batches(ds):
    return [(images.numpy(), {k: v.numpy() for k, v in labels.items()}) for images, labels in ds]


def test_letterbox_geometry_and_class_mapping(records):
    _, pattern = records
    ds = detection_dataset(pattern, output_size=(48, 64), class_names=CLASSES, batch_size=8,
                           training=False)
    [(images, labels)] = batches(ds)
    assert images.shape == (6, 48, 64, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    # 128x64 into 64x48: scale 0.5, image occupies the top 32 rows; below is padding
    assert np.all(images[:, 33:] == 0.0)
    assert labels["scale"][0] == pytest.approx(0.5)
    first = labels["boxes"][0][labels["classes"][0] >= 0]
    np.testing.assert_allclose(first, [[8, 4, 40, 20], [50, 10, 56, 30]], atol=1e-4)
    assert labels["classes"][0].tolist()[:2] == [0, 1]          # cyclist is not in class_names
    assert (labels["classes"][5] == -1).all()                   # the empty frame
    assert labels["frame_id"].tolist() == [f"{i:06d}".encode() for i in range(6)]


def test_mapping_renames_and_merges_classes(records):
    _, pattern = records
    ds = detection_dataset(pattern, output_size=(32, 64), class_names=["vehicle"], batch_size=8,
                           training=False, class_mapping={"CAR": "vehicle", "cyclist": "vehicle"})
    [(_, labels)] = batches(ds)
    assert (labels["classes"][0] >= 0).sum() == 2 and set(labels["classes"][0]) <= {0, -1}


def test_image_matches_a_plain_resize(records):
    root, pattern = records
    ds = detection_dataset(pattern, output_size=(32, 64), class_names=CLASSES, batch_size=8, training=False)
    [(images, labels)] = batches(ds)
    reference = np.asarray(Image.open(root / "image_2" / "000000.jpg").convert("RGB").resize(
        (64, 32), Image.BILINEAR), dtype=np.float32) / 255.0
    # noise images are a worst case for resampling differences; the means must still agree closely
    assert abs(images[0].mean() - reference.mean()) < 0.02
    assert images[3].std(axis=-1).max() < 1e-6                   # grayscale stays gray in RGB


def test_horizontal_flip_moves_boxes_with_pixels(records):
    _, pattern = records
    plain = batches(detection_dataset(pattern, output_size=(32, 64), class_names=CLASSES,
                                      batch_size=8, training=False))[0]
    flipped = batches(detection_dataset(pattern, output_size=(32, 64), class_names=CLASSES,
                                        batch_size=8, training=True, drop_remainder=False,
                                        augmentation=Augmentation(hflip_probability=1.0),
                                        shuffle_buffer=1))
    images, labels = flipped[0]
    order = [int(f) for f in labels["frame_id"]]
    np.testing.assert_allclose(images, plain[0][order][:, :, ::-1], atol=1e-5)
    for row, frame in enumerate(order):
        keep = labels["classes"][row] >= 0
        expect = plain[1]["boxes"][frame][plain[1]["classes"][frame] >= 0]
        mirrored = np.stack([64 - expect[:, 2], expect[:, 1], 64 - expect[:, 0], expect[:, 3]], -1)
        np.testing.assert_allclose(labels["boxes"][row][keep], mirrored, atol=1e-4)


def test_zoom_translate_keep_boxes_inside_and_drop_small_ones(records):
    _, pattern = records
    aug = Augmentation(zoom_min=0.5, zoom_max=1.5, translate_max_x=20, translate_max_y=10,
                       hue_rotation_max=30, saturation_shift_max=0.3, contrast_scale_max=0.2,
                       color_shift_stddev=0.05, min_bbox_width=4, min_bbox_height=4)
    ds = detection_dataset(pattern, output_size=(32, 64), class_names=CLASSES, batch_size=3,
                           augmentation=aug, repeat=True)
    for images, labels in batches(ds.take(6)):
        assert 0.0 <= images.min() and images.max() <= 1.0
        boxes = labels["boxes"][labels["classes"] >= 0]
        assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= 64).all()
        assert (boxes[:, [1, 3]] >= 0).all() and (boxes[:, [1, 3]] <= 32).all()
        assert (boxes[:, 2] - boxes[:, 0] >= 4).all() and (boxes[:, 3] - boxes[:, 1] >= 4).all()


def test_deterministic_for_a_seed(records):
    _, pattern = records
    aug = Augmentation(hflip_probability=0.5, zoom_min=0.8, zoom_max=1.2, translate_max_x=8,
                       hue_rotation_max=20, contrast_scale_max=0.1)

    def run(seed):
        ds = detection_dataset(pattern, output_size=(32, 64), class_names=CLASSES, batch_size=2,
                               augmentation=aug, seed=seed, repeat=True)
        return batches(ds.take(4))

    a, b, c = run(1), run(1), run(2)
    for (ia, la), (ib, lb) in zip(a, b):
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(la["boxes"], lb["boxes"])
    assert any(not np.array_equal(ia, ic) for (ia, _), (ic, _) in zip(a, c))


def test_no_records_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="dataset-convert"):
        record_files(str(tmp_path / "missing-*"))


def test_pipeline_from_an_experiment_spec(records):
    from jupyter_tlt.data.loader import detection_dataset_from_spec
    from jupyter_tlt.spec import load_experiment_spec

    _, pattern = records
    spec = load_experiment_spec(f"""
random_seed: 7
dataset_config {{
  data_sources {{ tfrecords_path: "{pattern}" }}
  target_class_mapping {{ key: "car" value: "car" }}
  target_class_mapping {{ key: "pedestrian" value: "person" }}
  validation_fold: 0
}}
augmentation_config {{
  preprocessing {{ output_image_width: 64 output_image_height: 32 min_bbox_width: 2 min_bbox_height: 2 }}
  spatial_augmentation {{ hflip_probability: 0.5 zoom_min: 0.9 zoom_max: 1.1 }}
  color_augmentation {{ hue_rotation_max: 25.0 }}
}}
model_config {{ arch: "resnet" num_layers: 18 }}
training_config {{ batch_size_per_gpu: 2 }}
""")
    train = detection_dataset_from_spec(spec, training=True)
    images, labels = next(iter(train))
    assert images.shape == (2, 32, 64, 3)
    assert set(labels["classes"].numpy().ravel()) <= {-1, 0, 1}   # car -> 0, person -> 1 (sorted)
    val = detection_dataset_from_spec(spec, training=False)
    assert list(val) == []  # val_split 0 left the validation fold (0) empty
