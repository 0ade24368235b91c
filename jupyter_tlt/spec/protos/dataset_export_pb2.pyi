from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
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

class DatasetExportConfig(_message.Message):
    __slots__ = ("kitti_config", "image_directory_path", "target_class_mapping")
    class TargetClassMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KITTI_CONFIG_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_CLASS_MAPPING_FIELD_NUMBER: _ClassVar[int]
    kitti_config: KittiConfig
    image_directory_path: str
    target_class_mapping: _containers.ScalarMap[str, str]
    def __init__(self, kitti_config: _Optional[_Union[KittiConfig, _Mapping]] = ..., image_directory_path: _Optional[str] = ..., target_class_mapping: _Optional[_Mapping[str, str]] = ...) -> None: ...
