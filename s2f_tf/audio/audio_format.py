"""The paper's audio format: 16 kHz mono, 6 s training clips, the 3 s test condition (Sec. 4, Sec. 5).

Plain numbers, importable without TensorFlow (the binaries' flag defaults
read them before any model is built).
"""

SAMPLE_RATE = 16000  # Hz, Sec. 4.
CLIP_SECONDS = 6.0  # Training clip length, Sec. 4.
SHORT_CLIP_SECONDS = 3.0  # The 3 s test condition, Table 2 / Sec. 5.
