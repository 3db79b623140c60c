"""Faces: detection, 68-point landmarks, identity embeddings, smoothing, crops and alignment.

Quick start::

    from thglib.samples import portrait
    from thglib import face

    img = portrait("astronaut")
    box = face.detect_face(img)               # FaceBox, largest face
    lm = face.landmarks(img, box)             # Landmarks: (68, 2) points + box + backend
    face.plot_landmarks(img, lm)
    e = face.identity_embedding(img, lm)      # unit-norm identity vector

Backends (:mod:`thglib.face.backends`): dlib (offline, ``pip install dlib-bin face-recognition-models``)
and face-alignment S3FD/FAN and InsightFace ArcFace (weights via :mod:`thglib.weights`).
``backend="auto"`` picks the best that works here and every result records which one it used.
Heavy packages (dlib, torch, cv2) are imported only when a function needs them.
"""

from __future__ import annotations

from .alignment import AlignedFaces, align_faces, similarity_matrix
from .backends import available, get_detector, get_encoder, get_landmarker
from .box import FaceBox
from .crops import syncnet_crop, wav2lip_crop
from .detection import detect_face, detect_faces
from .identity import DLIB_THRESHOLD, Embedding, cosine_similarity, identity_distance, identity_embedding
from .landmarking import Landmarks, landmarks
from .plotting import plot_landmarks
from .protocols import FaceDetector, IdentityEncoder, LandmarkDetector
from .regions import REGIONS, five_points
from .smoothing import one_euro_smooth, savgol_smooth, smooth_boxes, smooth_landmarks
from .template import TEMPLATES, template_points
from .tracking import LandmarkTrack, landmarks_video

__all__ = [
    "FaceBox", "Landmarks", "LandmarkTrack", "Embedding", "AlignedFaces",
    "FaceDetector", "LandmarkDetector", "IdentityEncoder",
    "detect_faces", "detect_face", "landmarks", "landmarks_video",
    "identity_embedding", "identity_distance", "cosine_similarity", "DLIB_THRESHOLD",
    "smooth_boxes", "smooth_landmarks", "savgol_smooth", "one_euro_smooth",
    "wav2lip_crop", "syncnet_crop", "align_faces", "similarity_matrix", "template_points", "TEMPLATES",
    "plot_landmarks", "REGIONS", "five_points",
    "get_detector", "get_landmarker", "get_encoder", "available",
]
