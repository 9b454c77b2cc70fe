"""Table 3: S2F -> face retrieval, recall@K with L2, L1 and cosine distances.

Each query (a feature predicted from speech) ranks a database of true face
features. Ties are broken uniformly at random, in expectation: with c
entries strictly closer than the true face and t others at the same
distance, the query is within the top k with probability
clip((k - c) / (t + 1), 0, 1), and recall@K is the mean of that. A constant
predictor therefore scores exactly chance (favouring the query in ties would
give it 100 %). Distances are computed in chunks of queries x database rows
so that 150,000 x 5,000 x 4096-D fits in a fixed memory budget.

Two protocols (WORKSPACE.md):
- `gallery_table3`, the paper's: its chance row (1 / 2 / 5 / 10 %) means each
  query ranks 100 candidates. Disjoint galleries of 100 clips are drawn from
  the sampled test clips, one clip per speaker per gallery, and every clip
  of a gallery queries that gallery.
- `table3`: one ranking against all `database_size` (5,000) clips, the
  paper's text; chance is k / 5,000.
"""

import numpy as np

DATABASE_SIZE = 5000  # Sec. 5.
RECALL_KS = (1, 2, 5, 10)  # Table 3.
# Table 3's chance row (1/2/5/10 %) is k / 100: 100 candidates per query.
GALLERY_SIZE = 100
NUM_GALLERIES = 50  # 50 x 100 = the 5,000 sampled test clips.
METRICS = ("l2", "l1", "cosine")
# Float64 elements of the largest temporary (queries x database x dim for L1).
_CHUNK_ELEMENTS = 16_000_000


def _distances(queries, database, metric):
  if metric == "cosine":
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True),
                             1e-12)
    d = database / np.maximum(np.linalg.norm(database, axis=1, keepdims=True),
                              1e-12)
    return 1.0 - q @ d.T
  if metric == "l2":
    squared = (np.sum(queries ** 2, 1)[:, None] + np.sum(database ** 2, 1)[
        None] - 2.0 * queries @ database.T)
    return np.sqrt(np.maximum(squared, 0.0))
  if metric == "l1":
    rows = max(1, _CHUNK_ELEMENTS // max(1, database.shape[1]
                                         * len(queries)))
    parts = [np.abs(queries[:, None, :] - database[None, s:s + rows]).sum(-1)
             for s in range(0, len(database), rows)]
    return np.concatenate(parts, axis=1)
  raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")


def rank_counts(queries, database, true_index, metric="cosine", chunk=None):
  """(closer, ties): per query, database entries strictly closer than its
  true entry, and other entries at exactly the same distance.

  Args:
    queries: (Q, D) predicted features.
    database: (N, D) face features.
    true_index: (Q,) index into `database` of each query's true face.
    metric: 'l2', 'l1' or 'cosine'.
    chunk: queries per chunk (default: from a memory budget).
  """
  queries = np.asarray(queries, np.float64)
  database = np.asarray(database, np.float64)
  true_index = np.asarray(true_index)
  if chunk is None:
    per_query = database.shape[0] * (database.shape[1] if metric == "l1"
                                     else 1)
    chunk = max(1, min(len(queries), _CHUNK_ELEMENTS // max(per_query, 1)))
    if metric == "l1":
      chunk = max(1, min(chunk, 16))
  closer = np.empty(len(queries), np.int64)
  ties = np.empty(len(queries), np.int64)
  for start in range(0, len(queries), chunk):
    stop = start + chunk
    distance = _distances(queries[start:stop], database, metric)
    own = distance[np.arange(len(distance)), true_index[start:stop]]
    closer[start:stop] = np.sum(distance < own[:, None], axis=1)
    ties[start:stop] = np.sum(distance == own[:, None], axis=1) - 1
  return closer, ties


def ranks(queries, database, true_index, metric="cosine", chunk=None):
  """0-based rank of each query's true entry, ties in the query's favour
  (for retrieval examples; recall uses `recall_at_k` on `rank_counts`)."""
  return rank_counts(queries, database, true_index, metric, chunk)[0]


def expected_hits(closer, ties, k):
  """Per query, the probability that its true entry is within the top k
  when it ranks uniformly at random among its ties."""
  closer = np.asarray(closer, np.float64)
  return np.clip((k - closer) / (np.asarray(ties, np.float64) + 1), 0, 1)


def recall_at_k(closer, ties=None, ks=RECALL_KS):
  """{k: % of queries whose true entry is within the top k}, ties broken
  uniformly at random (in expectation; see the module docstring)."""
  ties = np.zeros(np.shape(closer)) if ties is None else ties
  return {k: float(100.0 * np.mean(expected_hits(closer, ties, k)))
          for k in ks}


def chance(database_size, ks=RECALL_KS):
  return {k: 100.0 * min(k, database_size) / database_size for k in ks}


def table3(predicted, true, database_size=DATABASE_SIZE, ks=RECALL_KS,
           seed=0, metrics=METRICS):
  """Recall@K per metric over a random database of `database_size` pairs.

  The database is the true features of `database_size` random test clips;
  each of those clips' predicted features is a query.
  """
  rng = np.random.RandomState(seed)
  count = len(predicted)
  index = np.arange(count) if count <= database_size else np.sort(
      rng.choice(count, database_size, replace=False))
  queries, database = np.asarray(predicted)[index], np.asarray(true)[index]
  table = {metric: recall_at_k(*rank_counts(queries, database,
                                            np.arange(len(index)), metric),
                               ks=ks)
           for metric in metrics}
  table["chance"] = chance(len(index), ks)
  table["database_size"] = int(len(index))
  table["protocol"] = (f"each query ranks all {len(index)} sampled test "
                       "faces")
  return table


def galleries(speaker_ids, gallery_size=GALLERY_SIZE,
              num_galleries=NUM_GALLERIES, seed=0):
  """Disjoint galleries (lists of clip indices), one clip per speaker each.

  Each gallery takes, in a seeded random order, the first remaining clip of
  each speaker it does not hold yet; galleries that cannot be filled with
  `gallery_size` distinct speakers are not formed.
  """
  rng = np.random.RandomState(seed)
  remaining = list(rng.permutation(len(speaker_ids)))
  out = []
  while len(out) < num_galleries:
    chosen, speakers, rest = [], set(), []
    for index in remaining:
      if len(chosen) < gallery_size and speaker_ids[index] not in speakers:
        chosen.append(int(index))
        speakers.add(speaker_ids[index])
      else:
        rest.append(index)
    if len(chosen) < gallery_size:
      break
    out.append(sorted(chosen))
    remaining = rest
  return out


def gallery_table3(predicted, true, speaker_ids, gallery_size=GALLERY_SIZE,
                   num_galleries=NUM_GALLERIES, ks=RECALL_KS, seed=0,
                   metrics=METRICS):
  """Recall@K per metric, each query ranking the 100 faces of its gallery.

  Returns {metric: {k: %}, 'chance': {k: %}, 'gallery_size', 'galleries',
  'queries', 'protocol'}; galleries shrink to the number of distinct
  speakers when there are fewer than `gallery_size`.
  """
  predicted, true = np.asarray(predicted), np.asarray(true)
  size = min(gallery_size, len(set(speaker_ids)))
  groups = galleries(speaker_ids, size, num_galleries, seed)
  table = {}
  for metric in metrics:
    closer, ties = [], []
    for group in groups:
      c, t = rank_counts(predicted[group], true[group], np.arange(len(group)),
                         metric)
      closer.append(c)
      ties.append(t)
    table[metric] = recall_at_k(np.concatenate(closer), np.concatenate(ties),
                                ks) if groups else {k: float("nan")
                                                    for k in ks}
  table["chance"] = chance(size, ks)
  table["gallery_size"] = int(size)
  table["galleries"] = len(groups)
  table["queries"] = int(sum(len(g) for g in groups))
  table["protocol"] = (f"{len(groups)} disjoint galleries of {size} clips, "
                       "one per speaker; each clip queries its gallery")
  return table


def top_k(query, database, k=5, metric="cosine"):
  """Indices of the `k` database entries nearest to one query."""
  distance = _distances(np.asarray(query, np.float64)[None],
                        np.asarray(database, np.float64), metric)[0]
  return np.argsort(distance, kind="stable")[:k]


def closed_set_recall(predicted, true, identity_ids):
  """R@1 (%) of naming each query's identity among the known ones.

  Each identity's prototype is the mean true feature of its clips; a query
  is right when its cosine-nearest prototype is its own. Chance is
  1 / identities.
  """
  predicted = np.asarray(predicted, np.float64)
  true = np.asarray(true, np.float64)
  names = sorted(set(identity_ids))
  labels = np.array([names.index(i) for i in identity_ids])
  prototypes = np.stack([true[labels == n].mean(0)
                         for n in range(len(names))])
  distance = _distances(predicted, prototypes, "cosine")
  right = distance.argmin(1) == labels
  return {"r_at_1": float(100.0 * right.mean()),
          "chance": 100.0 / len(names), "queries": int(len(labels)),
          "identities": len(names),
          "per_identity": {n: float(100.0 * right[labels == i].mean())
                           for i, n in enumerate(names)}}
