"""THG-Synth: synthetic talking-head clips with exact ground truth and controlled degradations.

Pipeline (one module per stage)::

    text --tts--> speech + phoneme timings          (thglib.tts, .grid for GRID sentences)
         --visemes--> coarticulated mouth parameters (.visemes)
         --animate--> blinks and head pose           (.animate)
         --rig--> 68 landmarks per frame              (.rig)
         --render--> frames (piecewise-affine warp)   (.render, .identity)

>>> from thglib import synth
>>> clip = synth.make_clip(grid_seed=3, identity="grace_hopper")
>>> bad = synth.degrade(clip, "offset", 2)            # audio lags by 2 frames, GT updated
>>> synth.save_clip(bad, "out/clip_offset2")           # .mp4 .wav .npz .json

:mod:`thglib.synth.camera` has the simplest synthetic video of all (a zoom over a still).
``SynthParams.realistic()`` is the realism preset (yaw/pitch from a 3-D rig, painted lids and sealed
lips, 512² frames, portrait variants from :mod:`.variation`, several voices); see :mod:`.clip`.
"""

from __future__ import annotations

from .animate import POSE_PARAMS, ROTATION_PARAMS, Motion, blink_track, head_track, rotation_track, speech_drive
from .camera import zoom_frames
from .clip import (REALISTIC_VOICES, SynthClip, SynthParams, load_clip, make_clip, padded_speech, render_motion,
                   save_clip)
from .dataset import make_dataset
from .degrade import DEGRADATIONS, apply_degradations, degrade, parse_degradation
from .grid import GRID_SLOTS, GridSentence, grid_sentence, grid_sentences
from .identity import Identity, load_identity, portrait_landmarks
from .render import build_mesh, draw_eyelids, draw_lip_seal, draw_mouth, render_frames, warp_frame
from .rig import apply_pose, expression_landmarks, pose_matrices, rotate_points
from .variation import vary_identity
from .visemes import (MOUTH_PARAMS, PHONEME_VISEMES, VISEMES, coarticulate, frame_visemes, phoneme_visemes,
                      viseme_segments)

__all__ = [
    "zoom_frames",
    "GRID_SLOTS", "GridSentence", "grid_sentence", "grid_sentences",
    "VISEMES", "MOUTH_PARAMS", "PHONEME_VISEMES", "phoneme_visemes", "viseme_segments", "coarticulate",
    "frame_visemes",
    "POSE_PARAMS", "ROTATION_PARAMS", "Motion", "blink_track", "head_track", "rotation_track", "speech_drive",
    "expression_landmarks", "pose_matrices", "apply_pose", "rotate_points",
    "Identity", "load_identity", "portrait_landmarks", "vary_identity",
    "build_mesh", "warp_frame", "draw_mouth", "draw_eyelids", "draw_lip_seal", "render_frames",
    "SynthParams", "REALISTIC_VOICES", "SynthClip", "padded_speech", "make_clip", "render_motion", "save_clip",
    "load_clip",
    "DEGRADATIONS", "degrade", "apply_degradations", "parse_degradation",
    "make_dataset",
]
