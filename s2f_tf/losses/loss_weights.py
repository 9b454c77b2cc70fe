"""Eq. 1's weights and distillation temperature (Sec. 3.2) and the loss choices.

Plain numbers, importable without TensorFlow (the training binaries' flag
defaults read them before any model is built).
"""

LOSS_TYPES = ("paper", "pixel")  # Eq. 1; the Fig. 8 pixel-loss ablation.
LAMBDA1 = 0.025  # Eq. 1, Sec. 3.2.
LAMBDA2 = 200.0  # Eq. 1, Sec. 3.2.
DISTILL_TEMPERATURE = 2.0  # T of L_distill, Sec. 3.2.
