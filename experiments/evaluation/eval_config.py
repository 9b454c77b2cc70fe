"""The evaluation's config: which run, which test shards, which protocol sizes (Sec. 5's defaults).

One field per flag of `experiments/evaluate.py`; importable without
TensorFlow so `--help` answers at once.
"""

import dataclasses

from s2f_tf import run_config
from s2f_tf.metrics import feature_similarity
from s2f_tf.metrics import retrieval


@dataclasses.dataclass
class EvalConfig(run_config.RunConfig):
  workdir: str = ""  # The voice encoder's training workdir.
  test_pattern: str = ""  # Glob of the test shards.
  out_dir: str = ""  # Where results.json and report.html go.
  decoder_path: str = ""  # Exported face decoder (.keras) for F2F / S2F.
  # Folder of the dlib-models age/gender ONNX files (+ optional fairface.onnx).
  attribute_models: str = ""
  segments: str = "6,3"  # Seconds of speech per test clip (Table 2 / 3).
  num_pairs: int = feature_similarity.NUM_PAIRS  # Table 2 pairs.
  database_size: int = retrieval.DATABASE_SIZE  # Clips sampled for Table 3.
  gallery_size: int = retrieval.GALLERY_SIZE  # Candidates per query.
  num_galleries: int = retrieval.NUM_GALLERIES  # Disjoint galleries.
  max_examples: int = 0  # 0: every test clip.
  # The prediction pass split across workers: run worker_index 0..N-1 (one
  # process or machine each, any order, resumable), then once more with -1
  # to merge their samples and compute the metrics; -1 alone does it all.
  num_workers: int = 1
  worker_index: int = -1
  # Clips whose face crops are kept (a seeded uniform sample, drawn while
  # streaming): attributes, Fig. 5, identity and figures use these.
  image_samples: int = 1000
  # Clips whose features are kept (a seeded uniform sample, drawn while
  # streaming; 0: all): Table 2 / 3 sample from these, so memory does not
  # grow with the test split. The default covers Table 2's 5,000 pairs and
  # Table 3's 5,000 clips.
  feature_samples: int = 5000
  num_craniofacial: int = 1000  # Fig. 5 uses 1,000 test samples.
  num_tsne: int = 1000  # Predicted features in the t-SNE plot.
  batch_size: int = 8  # Clips per encoder batch.
  ablations: str = ""  # "name=workdir,name=workdir": more encoders, Table 2/3.
  seed: int = 0  # Sampling seed.

  def validate(self):
    """Raises ValueError naming the flag of the first bad value."""
    for name in ("workdir", "test_pattern", "out_dir"):
      if not getattr(self, name):
        raise ValueError(f"--{name} is required")
    if self.num_workers < 1:
      raise ValueError(f"--num_workers={self.num_workers}: must be >= 1")
    if not -1 <= self.worker_index < self.num_workers:
      raise ValueError(f"--worker_index={self.worker_index}: must be -1 (all "
                       f"and merge) or 0..{self.num_workers - 1}")
    return self
