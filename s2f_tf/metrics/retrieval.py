"""Table 3: S2F -> face retrieval, recall@K with L2, L1 and cosine distances.

Each query (a feature predicted from speech) ranks a database of true face
features; its rank is the number of database entries strictly closer than
its own true face (ties count in the query's favour, as a plain sort would
leave them). Distances are computed in chunks of queries x database rows so
that 150,000 x 5,000 x 4096-D fits in a fixed memory budget.
"""

import numpy as np

DATABASE_SIZE = 5000  # Sec. 5.
RECALL_KS = (1, 2, 5, 10)  # Table 3.
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


def ranks(queries, database, true_index, metric="cosine", chunk=None):
  """0-based rank of each query's true database entry.

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
  out = np.empty(len(queries), np.int64)
  for start in range(0, len(queries), chunk):
    stop = start + chunk
    distance = _distances(queries[start:stop], database, metric)
    own = distance[np.arange(len(distance)), true_index[start:stop]]
    out[start:stop] = np.sum(distance < own[:, None], axis=1)
  return out


def recall_at_k(rank_values, ks=RECALL_KS):
  """{k: % of queries whose true entry is within the top k}."""
  rank_values = np.asarray(rank_values)
  return {k: float(100.0 * np.mean(rank_values < k)) for k in ks}


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
  table = {metric: recall_at_k(ranks(queries, database,
                                     np.arange(len(index)), metric), ks)
           for metric in metrics}
  table["chance"] = chance(len(index), ks)
  table["database_size"] = int(len(index))
  return table


def top_k(query, database, k=5, metric="cosine"):
  """Indices of the `k` database entries nearest to one query."""
  distance = _distances(np.asarray(query, np.float64)[None],
                        np.asarray(database, np.float64), metric)[0]
  return np.argsort(distance, kind="stable")[:k]
