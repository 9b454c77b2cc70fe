"""The degradations a face image meets on its way to a viewer: a JPEG round trip and a smaller size.

The decoder's identity term trains against dlib's network, the network the
identity instrument also reads. A face that wins by drawing the person keeps
its identity when re-encoded or resized; one that wins by a fine texture
that the network alone reads does not. The real-pairs table reads s2f's
face -> face images after each of these too (issue: JPEG quality 75, 0.75x).
"""

import cv2
import numpy as np

JPEG_QUALITY = 75
RESIZE_FACTOR = 0.75


def jpeg_round_trip(rgb, quality=JPEG_QUALITY):
  """An RGB uint8 image encoded as a JPEG at `quality` and decoded again."""
  ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                          [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
  if not ok:
    raise ValueError("JPEG encoding failed")
  return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()


def resized(rgb, factor=RESIZE_FACTOR):
  """An RGB uint8 image at `factor` of its size (area averaging)."""
  height, width = rgb.shape[:2]
  size = (max(1, round(width * factor)), max(1, round(height * factor)))
  return cv2.resize(np.ascontiguousarray(rgb), size,
                    interpolation=cv2.INTER_AREA)
