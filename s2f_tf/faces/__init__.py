"""Face side: video frames, dlib detection and landmarks, face crops."""
