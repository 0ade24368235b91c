"""Run `train` in a fresh process: single device, two logical CPUs (MirroredStrategy), or one
worker of a TF_CONFIG cluster. Prints the per-epoch history as JSON on the last line."""

import json
import sys

from jupyter_tlt.tf_import import tensorflow

spec_path, results, mode = sys.argv[1:4]
tf = tensorflow()
devices = None
if mode == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    devices = ["/cpu:0", "/cpu:1"]

from jupyter_tlt.train import train  # noqa: E402

result = train(open(spec_path).read(), results, devices=devices, progress=False)
print(json.dumps(result.history))
