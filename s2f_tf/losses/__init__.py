"""Losses of Speech2Face: Eq. 1 and the pixel-L1 ablation of Fig. 8."""
