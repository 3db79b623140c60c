"""Head pose (yaw, pitch, roll in degrees) per frame: from 68 landmarks by PnP, or from pixels by Hopenet.

**Landmarks + PnP (offline).** Six landmarks are matched to a generic 3-D face and
``cv2.solvePnP`` (SQPnP, Terzakis & Lourakis, ECCV 2020) finds the rotation ``R`` and translation
``b`` that project the model onto them through a pinhole camera ``K_cam`` with focal length
``f_px`` = image width, principal point at the image centre and no lens distortion. The 3-D points
are the "generic 3D model" of S. Mallick, *Head Pose Estimation using OpenCV and Dlib* (LearnOpenCV,
2016), in arbitrary units (nose tip at the origin), written here in OpenCV camera axes
(``x`` right, ``y`` down, ``z`` away from the camera, i.e. the article's ``y`` and ``z`` negated):

========================  ========  =================
point                     landmark  model (x, y, z)
========================  ========  =================
nose tip                  30        (0, 0, 0)
chin                      8         (0, 330, 65)
outer corner, left eye    36        (-225, -170, 135)
outer corner, right eye   45        (225, -170, 135)
left mouth corner         48        (-150, 150, 125)
right mouth corner        54        (150, 150, 125)
========================  ========  =================

("left"/"right" as seen in the image.) Angles decompose ``R = R_z(roll) R_y(yaw) R_x(pitch)``
(right-handed rotations about the camera axes), so ``roll > 0`` turns the face clockwise on screen
(the sense of THG-Synth's ``roll_deg``), ``yaw > 0`` turns the nose toward the image's left and
``pitch > 0`` tilts it down; a frontal, upright face gives (0, 0, 0). A generic model makes absolute
yaw and pitch approximate (they depend on the person's real face depth); changes over time are
what it measures well.

**Hopenet (pixels).** Ruiz, Chong & Rehg, CVPR-W 2018 (:mod:`thglib.models.hopenet`): the face box
is enlarged as ``code/test_on_video_dlib.py`` of natanielruiz/deep-head-pose does (:func:`hopenet_box`),
cropped, preprocessed (:func:`~thglib.models.hopenet.hopenet_preprocess`) and classified; degrees
= ``Σ softmax · bin · 3 − 99``. Its angle conventions are those of its training set (300W-LP), not
the PnP ones above: compare trajectories from one estimator only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError, WeightsUnavailable

__all__ = ["GENERIC_FACE_3D", "PNP_LANDMARKS", "HeadPose", "camera_matrix", "euler_from_rotation",
           "pose_from_landmarks", "hopenet_box", "hopenet_pose"]

#: 3-D points of the generic face (LearnOpenCV, Mallick 2016) in OpenCV camera axes, arbitrary units.
GENERIC_FACE_3D = np.array([(0.0, 0.0, 0.0), (0.0, 330.0, 65.0), (-225.0, -170.0, 135.0),
                            (225.0, -170.0, 135.0), (-150.0, 150.0, 125.0), (150.0, 150.0, 125.0)])
#: The 68-point landmark indices matching the rows of :data:`GENERIC_FACE_3D`.
PNP_LANDMARKS = (30, 8, 36, 45, 48, 54)
ANGLES = ("yaw", "pitch", "roll")


@dataclass(frozen=True, eq=False)
class HeadPose:
    """Per-frame head pose. ``angles`` ``(T, 3)``: yaw, pitch, roll in degrees.

    ``method`` is ``"pnp"`` or ``"hopenet"``; ``source`` says exactly what produced the numbers
    (3-D model and camera, or weights and crop); ``caveat`` is non-empty when the numbers are not
    a real measurement (e.g. an untrained network). PnP also fills ``translations`` ``(T, 3)``
    (``b``, model units) and ``reprojection_px`` ``(T,)``; Hopenet with ``features=True`` fills
    ``features`` ``(T, 2048)`` (the pooled ResNet-50 embedding before the angle heads).
    """

    angles: np.ndarray
    method: str
    source: str
    caveat: str = ""
    translations: np.ndarray | None = None
    reprojection_px: np.ndarray | None = None
    features: np.ndarray | None = None

    @property
    def yaw(self) -> np.ndarray:
        return self.angles[:, 0]

    @property
    def pitch(self) -> np.ndarray:
        return self.angles[:, 1]

    @property
    def roll(self) -> np.ndarray:
        return self.angles[:, 2]

    def __len__(self) -> int:
        return len(self.angles)


def camera_matrix(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """Pinhole intrinsics ``K_cam = [[f_px, 0, w/2], [0, f_px, h/2], [0, 0, 1]]``, ``f_px = focal or width``."""
    if width <= 0 or height <= 0 or (focal is not None and focal <= 0):
        raise BadInputError("image_size/focal", f"need positive sizes and focal, got {width}x{height}, {focal}")
    f = float(width if focal is None else focal)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def euler_from_rotation(rotation: np.ndarray) -> np.ndarray:
    """``(yaw, pitch, roll)`` degrees of ``R = R_z(roll) R_y(yaw) R_x(pitch)`` (scipy ``as_euler("ZYX")``)."""
    from scipy.spatial.transform import Rotation

    roll, yaw, pitch = Rotation.from_matrix(np.asarray(rotation, np.float64)).as_euler("ZYX", degrees=True)
    return np.array([yaw, pitch, roll])


def _as_tracks(landmarks: object) -> np.ndarray:
    pts = getattr(landmarks, "points", landmarks)
    p = np.asarray(pts, np.float64)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1:] != (68, 2) or not np.all(np.isfinite(p)):
        raise BadInputError("landmarks", f"expected finite (T, 68, 2) or (68, 2) points, got {p.shape}",
                            "Pass thglib.face.landmarks_video(...).points or a SynthClip's landmarks")
    return p


def pose_from_landmarks(landmarks: object, image_size: tuple[int, int], *, focal: float | None = None,
                        model_points: np.ndarray | None = None,
                        indices: Sequence[int] = PNP_LANDMARKS) -> HeadPose:
    """Yaw, pitch, roll per frame by ``cv2.solvePnP`` (SQPnP) of ``indices`` against ``model_points``.

    ``landmarks``: ``(T, 68, 2)`` / ``(68, 2)`` pixels or a :class:`~thglib.face.LandmarkTrack`;
    ``image_size``: ``(width, height)`` of the frames they were found in (sets the camera).
    """
    import cv2

    pts = _as_tracks(landmarks)
    model = GENERIC_FACE_3D if model_points is None else np.asarray(model_points, np.float64)
    idx = list(indices)
    if model.shape != (len(idx), 3) or len(idx) < 4:
        raise BadInputError("model_points", f"{model.shape} for {len(idx)} landmark indices",
                            "Give one 3-D point per index, at least 4")
    cam = camera_matrix(*image_size, focal=focal)
    angles, trans, err = np.empty((len(pts), 3)), np.empty((len(pts), 3)), np.empty(len(pts))
    for t, p in enumerate(np.ascontiguousarray(pts[:, idx])):
        ok, rvec, tvec = cv2.solvePnP(model, p, cam, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            raise BadInputError("landmarks", f"solvePnP found no pose for frame {t}",
                                "Check the landmarks of that frame (plot them with face.plot_landmarks)")
        angles[t] = euler_from_rotation(cv2.Rodrigues(rvec)[0])
        trans[t] = tvec.ravel()
        proj = cv2.projectPoints(model, rvec, tvec, cam, None)[0].reshape(-1, 2)
        err[t] = np.sqrt(((proj - p) ** 2).sum(axis=1).mean())
    w, h = image_size
    source = (f"cv2.solvePnP SQPnP; landmarks {tuple(idx)} vs. generic 3-D face (LearnOpenCV, Mallick 2016); "
              f"camera f={cam[0, 0]:g} px, centre ({w / 2:g}, {h / 2:g}), no distortion")
    return HeadPose(angles, "pnp", source, translations=trans, reprojection_px=err)


def hopenet_box(box: object, image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Hopenet's crop of a detector box ``[x0, y0, x1, y1]`` as ``(x0, y0, x1, y1)`` integers.

    deep-head-pose ``test_on_video_dlib.py``: with box width ``w`` and height ``h``, widen by
    ``w/2`` each side, extend ``3h/4`` up and ``h/4`` down (integer pixels), clip to the image.
    """
    from .box import FaceBox

    b = FaceBox.from_array(box)
    x0, y0, x1, y1 = (int(v) for v in (b.x0, b.y0, b.x1, b.y1))
    w, h = abs(x1 - x0), abs(y1 - y0)
    x0, x1, y0, y1 = x0 - 2 * w // 4, x1 + 2 * w // 4, y0 - 3 * h // 4, y1 + h // 4
    return max(x0, 0), max(y0, 0), min(image_shape[1], x1), min(image_shape[0], y1)


def _hopenet_model(model: object, path: object, untrained_ok: bool) -> tuple[object, str, str]:
    """(network, weights description, caveat): official weights, else untrained if allowed."""
    from ..models import Hopenet, pretrained

    if model is not None:
        return model, f"user-supplied {type(model).__name__}", ""
    try:
        net = pretrained("hopenet_robust_alpha1", path=path)
    except WeightsUnavailable:
        if not untrained_ok:
            raise
        import torch

        torch.manual_seed(0)
        return (Hopenet().eval(), "UNTRAINED Hopenet (random init, seed 0)",
                "untrained network: angles illustrate the mechanics only")
    from ..weights import fetch, sha256_of

    file = fetch("hopenet_robust_alpha1", path=path)
    return net, f"hopenet_robust_alpha1.pkl sha256:{sha256_of(file)}", ""


def hopenet_pose(frames: np.ndarray, boxes: Sequence[object] | None = None, *, model: object = None,
                 path: str | None = None, untrained_ok: bool = False, detector: str = "auto",
                 features: bool = False, batch: int = 16, device: str = "cpu") -> HeadPose:
    """Hopenet yaw, pitch, roll for each frame ``(T, H, W, 3)`` uint8 RGB.

    ``boxes``: one face box per frame (default: the largest face from ``detector``; the official
    script used dlib's MMOD CNN, ``detector="dlib-mmod"``). Weights: ``model`` if given, else the
    official ``hopenet_robust_alpha1`` (``path`` = your copy); when they cannot be had this raises
    :class:`~thglib.errors.WeightsUnavailable`, unless ``untrained_ok=True``, which runs a randomly
    initialised network and says so in ``caveat`` and ``source``.
    """
    import torch

    from ..models import hopenet_preprocess, pose_degrees
    from .detection import detect_face

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise BadInputError("frames", f"expected (T, H, W, 3) uint8 RGB, got {frames.dtype} {frames.shape}")
    if boxes is not None and len(boxes) != len(frames):
        raise BadInputError("boxes", f"{len(boxes)} boxes for {len(frames)} frames", "Pass one box per frame")
    net, weights, caveat = _hopenet_model(model, path, untrained_ok)
    net = net.to(device)  # type: ignore[attr-defined]
    crops = []
    for t, f in enumerate(frames):
        box = boxes[t] if boxes is not None else detect_face(f, backend=detector, source=f"frame {t}")
        x0, y0, x1, y1 = hopenet_box(box, f.shape)
        crops.append(f[y0:y1, x0:x1])
    pooled: list[torch.Tensor] = []
    pool = net.avgpool  # type: ignore[attr-defined]
    hook = pool.register_forward_hook(lambda m, i, o: pooled.append(o.flatten(1).cpu()))
    out = []
    try:
        with torch.no_grad():
            for k in range(0, len(crops), batch):
                out.append(pose_degrees(net(hopenet_preprocess(crops[k:k + batch]).to(device))).cpu())
    finally:
        hook.remove()
    boxes_from = "given boxes" if boxes is not None else f"'{detector}' boxes"
    source = f"Hopenet ({weights}); crop: deep-head-pose enlargement of {boxes_from}, 224² centre crop"
    return HeadPose(torch.cat(out).double().numpy(), "hopenet", source, caveat,
                    features=torch.cat(pooled).double().numpy() if features else None)
