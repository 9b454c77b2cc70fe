"""The paper's reported numbers (SPEC.md, Sec. 5), to print beside s2f's."""

# Table 2: mean, std over 5,000 AVSpeech test pairs.
TABLE2 = {
    "3s": {"angle_deg": (48.43, 6.01), "l2": (0.19, 0.03), "l1": (9.81, 1.74)},
    "6s": {"angle_deg": (45.75, 5.09), "l2": (0.18, 0.02), "l1": (9.42, 1.54)},
}
# Table 3: recall@K (%). The text says a database of 5,000 faces; the chance
# row (1/2/5/10 %) means 100 candidates per query: compare with s2f's
# 100-face gallery protocol only (retrieval.gallery_table3).
TABLE3 = {
    "6s": {"cosine": {1: 10.92, 2: 17.00, 5: 30.60, 10: 45.82},
           "l2": {1: 8.28, 2: 13.66, 5: 24.66, 10: 35.84}},
    "3s": {"cosine": {1: 8.54, 2: 13.64, 5: 24.80, 10: 38.54}},
    "chance": {1: 1.0, 2: 2.0, 5: 5.0, 10: 10.0},
}
GENDER_AGREEMENT = 0.94  # Fig. 4.
# Fig. 5: Pearson r, F2F vs S2F, the two the text names; random pairs: 0.02.
CRANIOFACIAL_R = {"nasal_index": 0.38, "nose_width": 0.35}
CRANIOFACIAL_RANDOM_R = 0.02
