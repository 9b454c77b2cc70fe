"""tf.distribute strategy chosen by name (default, mirrored, multi-worker, TPU)."""

import tensorflow as tf

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def get_strategy(name="default", tpu=""):
  """Returns the tf.distribute.Strategy called `name`.

  Args:
    name: 'default' (no distribution), 'one_device' (first GPU, else CPU),
      'mirrored' (all local GPUs, or all logical CPUs when there is none),
      'multi_worker' (TF_CONFIG cluster), 'tpu'.
    tpu: TPU name or grpc address for 'tpu' ('' = local / from the env).
  """
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  if name == "mirrored":
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    if not devices:
      devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def split_cpu(num_devices):
  """Splits the CPU into `num_devices` logical devices (call before any op)."""
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def is_chief(strategy):
  """Whether this process writes the run's files (checkpoints, summaries).

  True unless `strategy` is multi-worker and this task is not the chief
  (TF_CONFIG's 'chief' task, else worker 0).
  """
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return (not has_chief and resolver.task_type == "worker"
          and resolver.task_id == 0)
