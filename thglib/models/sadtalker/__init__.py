"""Checkpoint-compatible ports of every SadTalker network (Zhang et al., "SadTalker: Learning
Realistic 3D Motion Coefficients for Stylized Audio-Driven Single Image Talking Face Animation",
CVPR 2023, arXiv:2211.12194; https://github.com/OpenTalker/SadTalker).

One module per network, each keeping the official attribute names so the released files load
unchanged (:mod:`~thglib.models.sadtalker.checkpoints`):

* :class:`Face3DRecon` (``face3d_recon``) — ResNet-50 → 257 3DMM coefficients;
* :class:`ExpNet` (``audio2exp``) — mel windows → expression coefficients;
* :class:`Audio2Pose` (``audio2pose``) — PoseVAE: mel windows + pose style → head motion;
* :class:`KPDetector` (``kp_detector``) — canonical 3-D keypoints;
* :class:`HEEstimator` (``he_estimator``) — face-vid2vid pose/expression head (unused at inference);
* :class:`MappingNet` (``mapping``) — coefficient window → pose and keypoint deformation;
* :class:`OcclusionAwareSPADEGenerator` (``generator``, with ``dense_motion``) — the renderer;
* :func:`keypoint_transformation` (``keypoints``) — canonical keypoints + pose → driving keypoints.
"""

from __future__ import annotations

from .audio2exp import ExpNet
from .audio2pose import Audio2Pose, smooth_pose
from .checkpoints import (MAPPING_FILES, SAFETENSORS_FILE, SAFETENSORS_PREFIXES, SadTalkerNetworks,
                          load_mapping, load_sadtalker_safetensors, load_strict, load_torch_checkpoint,
                          split_safetensors_state_dict)
from .dense_motion import DenseMotionNetwork
from .face3d_recon import Face3DRecon, coeff_3dmm, split_coeff
from .generator import OcclusionAwareSPADEGenerator
from .he_estimator import HEEstimator
from .keypoints import get_rotation_matrix, headpose_pred_to_degree, keypoint_transformation
from .kp_detector import KPDetector
from .mapping import MappingNet

__all__ = [
    "Face3DRecon", "split_coeff", "coeff_3dmm", "ExpNet", "Audio2Pose", "smooth_pose", "KPDetector",
    "HEEstimator", "MappingNet", "DenseMotionNetwork", "OcclusionAwareSPADEGenerator",
    "keypoint_transformation", "headpose_pred_to_degree", "get_rotation_matrix",
    "SAFETENSORS_FILE", "MAPPING_FILES", "SAFETENSORS_PREFIXES", "SadTalkerNetworks",
    "split_safetensors_state_dict", "load_strict", "load_sadtalker_safetensors", "load_mapping",
    "load_torch_checkpoint",
]
