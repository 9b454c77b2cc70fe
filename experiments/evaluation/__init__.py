"""The paper's evaluation: the prediction pass, metrics tables and report, the real-pairs experiment and its controls."""
