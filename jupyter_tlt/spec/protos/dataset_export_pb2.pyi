from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KittiConfig(_message.Message):
    __slots__ = ("root_directory_path", "image_dir_name", "label_dir_name", "image_extension", "partition_mode", "num_partitions", "num_shards", "val_split", "kitti_sequence_to_frames_file")
    ROOT_DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIR_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_DIR_NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_EXTENSION_FIELD_NUMBER: _ClassVar[int]
    PARTITION_MODE_FIELD_NUMBER: _ClassVar[int]
    NUM_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    NUM_SHARDS_FIELD_NUMBER: _ClassVar[int]
    VAL_SPLIT_FIELD_NUMBER: _ClassVar[int]
    KITTI_SEQUENCE_TO_FRAMES_FILE_FIELD_NUMBER: _ClassVar[int]
    root_directory_path: str
    image_dir_name: str
    label_dir_name: str
    image_extension: str
    partition_mode: str
    num_partitions: int
    num_shards: int
    val_split: float
    kitti_sequence_to_frames_file: str
    def __init__(self, root_directory_path: _Optional[str] = ..., image_dir_name: _Optional[str] = ..., label_dir_name: _Optional[str] = ..., image_extension: _Optional[str] = ..., partition_mode: _Optional[str] = ..., num_partitions: _Optional[int] = ..., num_shards: _Optional[int] = ..., val_split: _Optional[float] = ..., kitti_sequence_to_frames_file: _Optional[str] = ...) -> None: ...

class CocoConfig(_message.Message):
    __slots__ = ("root_directory_path", "img_dir_names", "annotation_files", "num_partitions", "num_shards")
    ROOT_DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    IMG_DIR_NAMES_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FILES_FIELD_NUMBER: _ClassVar[int]
    NUM_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    NUM_SHARDS_FIELD_NUMBER: _ClassVar[int]
    root_directory_path: str
    img_dir_names: _containers.RepeatedScalarFieldContainer[str]
    annotation_files: _containers.RepeatedScalarFieldContainer[str]
    num_partitions: int
    num_shards: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, root_directory_path: _Optional[str] = ..., img_dir_names: _Optional[_Iterable[str]] = ..., annotation_files: _Optional[_Iterable[str]] = ..., num_partitions: _Optional[int] = ..., num_shards: _Optional[_Iterable[int]] = ...) -> None: ...

class YoloConfig(_message.Message):
    __slots__ = ("root_directory_path", "image_dir_name", "label_dir_name", "class_names_file", "num_shards", "val_split")
    ROOT_DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIR_NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_DIR_NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FILE_FIELD_NUMBER: _ClassVar[int]
    NUM_SHARDS_FIELD_NUMBER: _ClassVar[int]
    VAL_SPLIT_FIELD_NUMBER: _ClassVar[int]
    root_directory_path: str
    image_dir_name: str
    label_dir_name: str
    class_names_file: str
    num_shards: int
    val_split: float
    def __init__(self, root_directory_path: _Optional[str] = ..., image_dir_name: _Optional[str] = ..., label_dir_name: _Optional[str] = ..., class_names_file: _Optional[str] = ..., num_shards: _Optional[int] = ..., val_split: _Optional[float] = ...) -> None: ...

class DatasetExportConfig(_message.Message):
    __slots__ = ("kitti_config", "coco_config", "yolo_config", "image_directory_path", "target_class_mapping")
    class TargetClassMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KITTI_CONFIG_FIELD_NUMBER: _ClassVar[int]
    COCO_CONFIG_FIELD_NUMBER: _ClassVar[int]
    YOLO_CONFIG_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_CLASS_MAPPING_FIELD_NUMBER: _ClassVar[int]
    kitti_config: KittiConfig
    coco_config: CocoConfig
    yolo_config: YoloConfig
    image_directory_path: str
    target_class_mapping: _containers.ScalarMap[str, str]
    def __init__(self, kitti_config: _Optional[_Union[KittiConfig, _Mapping]] = ..., coco_config: _Optional[_Union[CocoConfig, _Mapping]] = ..., yolo_config: _Optional[_Union[YoloConfig, _Mapping]] = ..., image_directory_path: _Optional[str] = ..., target_class_mapping: _Optional[_Mapping[str, str]] = ...) -> None: ...
