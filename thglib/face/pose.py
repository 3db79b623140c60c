"""Head pose (yaw, pitch, roll in degrees) per frame: from 68 landmarks by PnP, or from pixels by Hopenet.

**Landmarks + PnP (offline).** Landmarks are matched to a generic 3-D face and ``cv2.solvePnP``
(SQPnP, Terzakis & Lourakis, ECCV 2020, refined by Levenberg–Marquardt) finds the rotation ``R`` and
translation ``b`` that project the model onto them through a pinhole camera ``K_cam`` with focal
length ``f_px`` = image width, principal point at the image centre and no lens distortion. Models
(:func:`face_model`), in arbitrary units (outer eye corners 450 apart, nose tip at the origin) and
OpenCV camera axes (``x`` right, ``y`` down, ``z`` away from the camera):

* ``"mean6"`` (default, :data:`GENERIC_FACE_3D`): landmarks 30 (nose tip), 8 (chin), 36/45 (outer eye
  corners), 48/54 (mouth corners); ``x, y`` from OpenFace's mean dlib shape made symmetric, ``z`` thglib's
  own estimates (:data:`MEAN16_DEPTH`);
* ``"mean16"``: the same face at 16 landmarks (nose 27–35, eye corners 36/39/42/45, chin, mouth corners);
  ``"rigid13"``: ``"mean16"`` without chin and mouth corners, so opening the mouth does not read as pitch;
* ``"mallick6"`` (:data:`MALLICK_FACE_3D`): the six-point "generic 3D model" of S. Mallick, *Head Pose
  Estimation using OpenCV and Dlib* (LearnOpenCV, 2016; the article's ``y`` and ``z`` negated), the
  former default. Its face is shorter than the mean dlib face (eyes to mouth 0.71 of the eye-corner
  distance instead of 0.79), so the mean frontal face reads as pitch −8° (``"mean6"``: −1.6°) and
  its reprojection error is 2–3× higher on real faces (carphone clip: median 5.0 px vs. 2.0 px).

With ``temporal=True`` each frame may keep the solution reached from the previous frame's pose when
its error is comparable (this stops flips between near-equal minima); ``smooth`` adds Gaussian
smoothing over time. ``HeadPose.reprojection_px`` is the RMS reprojection error (px) of the final
pose per frame. Angles decompose ``R = R_z(roll) R_y(yaw) R_x(pitch)``
(right-handed rotations about the camera axes), so ``roll > 0`` turns the face clockwise on screen
(the sense of THG-Synth's ``roll_deg``), ``yaw > 0`` turns the nose toward the image's left and
``pitch > 0`` tilts it down; a frontal, upright face of the model's shape gives (0, 0, 0). A generic
model makes absolute yaw and pitch approximate: a face whose nose, mouth or chin sit lower or higher
than the model's reads as pitched (several degrees across real faces), and depths scale the angles;
changes over time are what it measures well.

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

__all__ = ["GENERIC_FACE_3D", "MALLICK_FACE_3D", "PNP_LANDMARKS", "MEAN16_LANDMARKS", "JAW_LANDMARKS",
           "MEAN16_DEPTH", "HeadPose", "camera_matrix", "euler_from_rotation", "mean16_face_3d", "face_model",
           "pose_from_landmarks", "hopenet_box", "hopenet_pose"]

#: Mallick's generic face (LearnOpenCV 2016) in OpenCV camera axes, arbitrary units (model ``"mallick6"``).
MALLICK_FACE_3D = np.array([(0.0, 0.0, 0.0), (0.0, 330.0, 65.0), (-225.0, -170.0, 135.0),
                            (225.0, -170.0, 135.0), (-150.0, 150.0, 125.0), (150.0, 150.0, 125.0)])
#: The 68-point landmark indices matching the rows of :data:`GENERIC_FACE_3D` and :data:`MALLICK_FACE_3D`.
PNP_LANDMARKS = (30, 8, 36, 45, 48, 54)
#: Landmarks of the 16-point model ``"mean16"``: nose (27–35), eye corners (36, 39, 42, 45), chin (8),
#: mouth corners (48, 54). ``"rigid13"`` drops the three that move with the jaw (8, 48, 54).
MEAN16_LANDMARKS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45, 8, 48, 54)
#: The model landmarks that move with the jaw (chin, mouth corners): speech reads as pitch through them.
JAW_LANDMARKS = (8, 48, 54)
#: Depth (``z``, model units ≈ 0.2 mm, behind the nose tip) of each ``"mean16"`` point: thglib's own
#: estimates from facial proportions (nasal dorsum sloping back to the nasion 27 mm behind the tip, nose
#: base 16–22 mm, eye corners 35/46 mm, mouth corners 32 mm, chin 26 mm), not a measured mean.
MEAN16_DEPTH = {27: 135.0, 28: 90.0, 29: 45.0, 30: 0.0, 31: 110.0, 32: 95.0, 33: 80.0, 34: 95.0, 35: 110.0,
                36: 230.0, 39: 175.0, 42: 175.0, 45: 230.0, 8: 130.0, 48: 160.0, 54: 160.0}
ANGLES = ("yaw", "pitch", "roll")
#: dlib 68-point mirror map (the point that ``i`` becomes when the face is flipped left-right).
_MIRROR = (*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46,
           39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65)


def mean16_face_3d() -> np.ndarray:
    """The ``"mean16"`` model ``(16, 3)`` (rows: :data:`MEAN16_LANDMARKS`), in :data:`GENERIC_FACE_3D` units.

    ``x, y``: OpenFace's mean dlib shape (:data:`thglib.face.template.MEAN_SHAPE`) made left-right
    symmetric (mean of the shape and its mirror image), nose tip at the origin, scaled so the outer eye
    corners are 450 apart as in Mallick's model; ``z``: :data:`MEAN16_DEPTH`. Its frontal view is the
    mean frontal face, so that face gives pitch ≈ 0 (Mallick's points give −8°, module docstring).
    """
    from .template import MEAN_SHAPE

    m = MEAN_SHAPE[list(_MIRROR)] * (-1.0, 1.0)
    sym = (MEAN_SHAPE + m + (2 * MEAN_SHAPE[[27, 28, 29, 30, 33, 51, 57, 8], 0].mean(), 0.0)) / 2
    xy = (sym - sym[30]) * 450.0 / np.linalg.norm(sym[45] - sym[36])
    idx = list(MEAN16_LANDMARKS)
    return np.c_[xy[idx], [MEAN16_DEPTH[i] for i in idx]]


#: The default six-point face (model ``"mean6"``): the rows of :func:`mean16_face_3d` for :data:`PNP_LANDMARKS`.
GENERIC_FACE_3D = mean16_face_3d()[[MEAN16_LANDMARKS.index(i) for i in PNP_LANDMARKS]]


def face_model(name: str) -> tuple[tuple[int, ...], np.ndarray]:
    """``(landmark indices, (N, 3) model points)`` of the named generic face: ``"mean6"``
    (:data:`GENERIC_FACE_3D`, the default), ``"mallick6"`` (:data:`MALLICK_FACE_3D`), ``"mean16"``
    (:func:`mean16_face_3d`) or ``"rigid13"`` (``"mean16"`` without the jaw-borne chin and mouth
    corners, :data:`JAW_LANDMARKS`: speech does not move it)."""
    if name in ("mean6", "mallick6"):
        return PNP_LANDMARKS, (GENERIC_FACE_3D if name == "mean6" else MALLICK_FACE_3D).copy()
    if name in ("mean16", "rigid13"):
        keep = [k for k, i in enumerate(MEAN16_LANDMARKS) if name == "mean16" or i not in JAW_LANDMARKS]
        return tuple(MEAN16_LANDMARKS[k] for k in keep), mean16_face_3d()[keep]
    raise BadInputError("model", f"unknown face model {name!r}", "Use 'mean6', 'mallick6', 'mean16' or 'rigid13'")


@dataclass(frozen=True, eq=False)
class HeadPose:
    """Per-frame head pose. ``angles`` ``(T, 3)``: yaw, pitch, roll in degrees.

    ``method`` is ``"pnp"`` or ``"hopenet"``; ``source`` says exactly what produced the numbers
    (3-D model and camera, or weights and crop); ``caveat`` is non-empty when the numbers are not
    a real measurement (e.g. an untrained network). PnP also fills ``translations`` ``(T, 3)``
    (``b``, model units) and ``reprojection_px`` ``(T,)`` (RMS distance in px between the landmarks and
    the projected model points at the returned pose); Hopenet with ``features=True`` fills
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


def _rms_px(model: np.ndarray, pts: np.ndarray, rvec: np.ndarray, tvec: np.ndarray, cam: np.ndarray) -> float:
    """Root-mean-square distance (px) between the landmarks and the projected model points."""
    import cv2

    proj = cv2.projectPoints(model, rvec, tvec, cam, None)[0].reshape(-1, 2)
    return float(np.sqrt(((proj - pts) ** 2).sum(axis=1).mean()))


def _solve_frame(model: np.ndarray, pts: np.ndarray, cam: np.ndarray, prev: tuple | None,
                 outlier_px: float | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """One frame: SQPnP refined by Levenberg–Marquardt, or the LM fit started from ``prev`` when that
    lands more than 1° away with an error within ``max(25 %, 0.25 px)`` of it; then, with ``outlier_px``,
    a refit without the points farther than that (when at least 6 remain). Returns ``(rvec, tvec, took_prev)``."""
    import cv2

    def lm(r: np.ndarray, t: np.ndarray, m: np.ndarray = model, p: np.ndarray = pts) -> tuple:
        return cv2.solvePnP(m, p, cam, None, r.copy(), t.copy(), True, cv2.SOLVEPNP_ITERATIVE)[1:]

    ok, r, t = cv2.solvePnP(model, pts, cam, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        raise BadInputError("landmarks", "solvePnP found no pose", "Check the landmarks of that frame "
                            "(plot them with face.plot_landmarks)")
    r, t = lm(r, t)
    took = False
    if prev is not None:
        r2, t2 = lm(*prev)
        e, e2 = _rms_px(model, pts, r, t, cam), _rms_px(model, pts, r2, t2, cam)
        apart = np.linalg.norm(cv2.Rodrigues(cv2.Rodrigues(r)[0].T @ cv2.Rodrigues(r2)[0])[0]) > np.radians(1.0)
        if apart and e2 <= e + max(0.25 * e, 0.25):  # another minimum, about as good: stay with the past
            r, t, took = r2, t2, True
    if outlier_px is not None:
        proj = cv2.projectPoints(model, r, t, cam, None)[0].reshape(-1, 2)
        keep = np.linalg.norm(proj - pts, axis=1) <= outlier_px
        if 6 <= keep.sum() < len(pts):
            r, t = lm(r, t, np.ascontiguousarray(model[keep]), np.ascontiguousarray(pts[keep]))
    return r, t, took


def _smoothed(rvecs: np.ndarray, tvecs: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian smoothing (σ frames) of the rotations (as rotation vectors about their mean) and translations."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.spatial.transform import Rotation

    rot = Rotation.from_rotvec(rvecs)
    mean = rot.mean()
    rel = gaussian_filter1d((mean.inv() * rot).as_rotvec(), sigma, axis=0, mode="nearest")
    return (mean * Rotation.from_rotvec(rel)).as_rotvec(), gaussian_filter1d(tvecs, sigma, axis=0, mode="nearest")


def pose_from_landmarks(landmarks: object, image_size: tuple[int, int], *, focal: float | None = None,
                        model: str = "mean6", model_points: np.ndarray | None = None,
                        indices: Sequence[int] | None = None, temporal: bool = True,
                        outlier_px: float | None = None, smooth: float = 0.0) -> HeadPose:
    """Yaw, pitch, roll per frame by ``cv2.solvePnP`` of the generic face ``model`` (:func:`face_model`).

    ``landmarks``: ``(T, 68, 2)`` / ``(68, 2)`` pixels or a :class:`~thglib.face.LandmarkTrack`;
    ``image_size``: ``(width, height)`` of the frames they were found in (sets the camera);
    ``model_points`` with ``indices``: your own 3-D points instead. Each frame is solved by SQPnP and
    refined by Levenberg–Marquardt; with ``temporal`` (default) the LM fit started from the previous
    frame's pose replaces it when its error is comparable (within 25 % or 0.25 px), which stops the
    flips between the two near-equal PnP minima. ``outlier_px``: refit each frame without the points
    that reproject farther than this. ``smooth`` > 0: Gaussian smoothing of the pose over time (σ in
    frames; off by default: it lags real motion). ``reprojection_px`` is the RMS error of the final
    pose over all model points; its median and maximum are in ``source``.
    """
    import cv2

    pts = _as_tracks(landmarks)
    if model_points is None and indices is None:
        idx, points = face_model(model)
    else:
        if model != "mean6":
            raise BadInputError("model", f"{model!r} together with model_points/indices",
                                "Pass either model= or your own model_points= (and indices=), not both")
        idx = list(PNP_LANDMARKS if indices is None else indices)
        points = GENERIC_FACE_3D if model_points is None else np.asarray(model_points, np.float64)
        model = "custom"
    idx = list(idx)
    if points.shape != (len(idx), 3) or len(idx) < 4:
        raise BadInputError("model_points/indices", f"{points.shape} model points for {len(idx)} landmark indices",
                            "Give one 3-D point per landmark index, at least 4")
    if smooth < 0 or (outlier_px is not None and outlier_px <= 0):
        raise BadInputError("smooth/outlier_px", f"need smooth >= 0 and outlier_px > 0, got {smooth}, {outlier_px}",
                            "Pass smooth=0 (off) or a width in frames; outlier_px=None (off) or pixels")
    cam = camera_matrix(*image_size, focal=focal)
    obs = np.ascontiguousarray(pts[:, idx])
    rvecs, tvecs, prev, kept = np.empty((len(pts), 3)), np.empty((len(pts), 3)), None, 0
    for t, p in enumerate(obs):
        try:
            r, tv, took = _solve_frame(points, p, cam, prev, outlier_px)
        except BadInputError as e:
            raise BadInputError("landmarks", f"frame {t}: {e.problem}", e.fix) from None
        prev, kept = ((r, tv) if temporal else None), kept + took
        rvecs[t], tvecs[t] = r.ravel(), tv.ravel()
    if smooth > 0 and len(pts) > 1:
        rvecs, tvecs = _smoothed(rvecs, tvecs, smooth)
    angles = np.array([euler_from_rotation(cv2.Rodrigues(r)[0]) for r in rvecs])
    err = np.array([_rms_px(points, p, r, tv, cam) for p, r, tv in zip(obs, rvecs, tvecs)])
    w, h = image_size
    what = {"mean6": "thglib mean6 face (OpenFace mean shape x, y; thglib depths)",
            "mallick6": "generic 3-D face (LearnOpenCV, Mallick 2016)",
            "mean16": "thglib mean16 face (OpenFace mean shape x, y; thglib depths)",
            "rigid13": "thglib rigid13 face (mean16 without chin and mouth corners)"}.get(model, "given 3-D points")
    steps = "SQPnP + LM refine" + (f", previous-frame guess kept on {kept}/{len(pts)} frames" if temporal else "")
    steps += (f", outliers > {outlier_px:g} px refit" if outlier_px else "") + (f", smoothed σ={smooth:g} frames"
                                                                              if smooth > 0 else "")
    source = (f"cv2.solvePnP ({steps}); landmarks {tuple(idx)} vs. {what}; camera f={cam[0, 0]:g} px, centre "
              f"({w / 2:g}, {h / 2:g}), no distortion; reprojection median {np.median(err):.2f} px, "
              f"max {err.max():.2f} px")
    return HeadPose(angles, "pnp", source, translations=tvecs, reprojection_px=err)


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
