"""Audio front end: media decoding and the complex power-law spectrogram."""
