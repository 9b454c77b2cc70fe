"""Evaluation metrics of Sec. 5: feature similarity, retrieval, attributes, craniofacial."""
