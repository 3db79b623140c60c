"""Render frames: piecewise-affine warp of a portrait to per-frame landmarks, then an open-mouth fill.

The mesh has the 68 landmarks, 16 *head* points (two rows above the brows and four beside the
jaw; they follow the head pose but not the expression) and 16 *border* points on the canvas edge
(static, so the background and shoulders stay put while the head moves). It is triangulated once
(``scipy.spatial.Delaunay``) on the neutral face with the mouth opened, so that the inner-lip
polygon holds only lip-to-lip triangles. For each frame:

1. rasterise the destination mesh into a triangle-index map (``cv2.fillConvexPoly``), smallest
   triangles first, so that pixels on a shared edge take the larger triangle's map: a near-degenerate
   triangle (closed lips or eyelids) must not extrapolate its steep affine onto its neighbours;
2. for triangle ``k`` the backward map is the affine ``A_k`` with ``p^s = A_k (p^d; 1)`` at its
   three vertices, i.e. ``A_k = P^s_k (P^d_k)⁻¹`` (columns: the source corners ``p^s``, and the
   destination corners ``p^d`` with a row of ones); evaluate it for every pixel at once (numpy gather);
3. ``cv2.remap`` the canvas through the map (bilinear) — one resampling for expression *and* pose;
4. paint the mouth cavity and teeth inside the inner-lip polygon (points 60–67).

Options of the realistic preset (``SynthParams.realistic()``; off by default, which keeps the
original frames bit for bit):

* ``rotation``: yaw/pitch turn the 68 landmarks and the head points in 3-D before the 2-D pose
  (:func:`~.rig.rotate_points`; head points get depths :data:`MESH_DEPTH`), and the same warp follows;
* ``eyelids``: the warp keeps the eyes open and a lid is painted over the closing eye: the mean of
  the median skin colours of bands 0.06–0.14 IOD above and below the eye, covering the open eye
  (scaled 1.2 about its centre, edges feathered by 0.015 IOD) except the still-open part, with a dark
  lash line (0.03 IOD wide, 75 % darker) along the lid margin once the eye is more than 30 % closed;
* ``lip_seal``: as the lips close (seal ``s = clip(1 − o / 0.04, 0, 1)``, ``o`` the inner-lip gap in
  IOD) the outer-lip area is repainted with the lips' own colour (median of its redder half), the
  upper lip 8 % darker, with a dark contact line, at opacity ``s`` — so teeth or a mouth gap that the
  portrait had at rest disappear when the lips touch.

This replaces ``skimage.transform.PiecewiseAffineTransform`` + ``warp`` (which locates every pixel
with a point-in-triangle search) and is 60–75x faster (``benchmarks/bench_synth.py``); the same
scheme is used by classic active-appearance-model warps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import BadInputError
from .identity import Identity
from .rig import LANDMARK_DEPTH, apply_pose, expression_landmarks, face_frame, rotate_points

__all__ = ["Mesh", "build_mesh", "mesh_points", "frame_meshes", "backward_map", "warp_frame", "draw_mouth",
           "draw_eyelids", "draw_lip_seal", "lip_seal_weight", "render_frames",
           "CAVITY_RGB", "TONGUE_RGB", "TEETH_RGB", "MESH_DEPTH", "LIP_SEAL_IOD"]

CAVITY_RGB = np.array([42.0, 12.0, 16.0])  #: colour of the dark mouth interior
TONGUE_RGB = np.array([135.0, 55.0, 60.0])  #: colour toward the bottom of the open mouth
TEETH_RGB = np.array([236.0, 226.0, 200.0])  #: colour of the teeth
_UPPER_TEETH_IOD, _LOWER_TEETH_IOD = 0.065, 0.03  # visible tooth heights at the midline
_BROWS = [17, 19, 21, 22, 24, 26]
#: depth toward the camera (IOD) of the 68 landmarks and the 16 head points (forehead rows, head sides)
MESH_DEPTH = np.concatenate([LANDMARK_DEPTH, LANDMARK_DEPTH[_BROWS] - 0.05, LANDMARK_DEPTH[_BROWS] - 0.35,
                             [-1.3, -1.2, -1.2, -1.3]])
MESH_DEPTH.setflags(write=False)
LIP_SEAL_IOD = 0.04  #: inner-lip gap (IOD) below which ``lip_seal`` starts repainting the lips
_EYES = (slice(36, 42), slice(42, 48))


@dataclass(frozen=True)
class Mesh:
    """Triangles ``(K, 3)`` over :func:`mesh_points` and the neutral (source) points in canvas pixels."""

    triangles: np.ndarray
    source: np.ndarray


def _head_points(landmarks: np.ndarray) -> np.ndarray:
    """16 points rigidly attached to the head: brows raised by 0.6 and 1.3 IOD (x 1.1), jaw sides pushed out."""
    origin, axes, iod = face_frame(landmarks)
    local = (np.asarray(landmarks, np.float64) - origin) @ axes.T / iod
    rows = [local[_BROWS] + [0, -0.6], local[_BROWS] * [1.1, 1] + [0, -1.3]]
    sides = local[[0, 3, 13, 16]] + np.array([[-0.45, 0], [-0.45, 0.1], [0.45, 0.1], [0.45, 0]])
    return origin + iod * np.concatenate(rows + [sides]) @ axes


def _border_points(size: int, margin: int) -> np.ndarray:
    """16 static points on the canvas border (output pixel coordinates)."""
    t = np.linspace(-margin, size - 1 + margin, 5)
    lo, hi = t[0], t[-1]
    pts = [(x, lo) for x in t] + [(x, hi) for x in t] + [(lo, y) for y in t[1:-1]] + [(hi, y) for y in t[1:-1]]
    return np.array(pts, dtype=np.float64)


def mesh_points(landmarks: np.ndarray, neutral: np.ndarray, size: int, margin: int) -> np.ndarray:
    """All mesh vertices ``(100, 2)``: 68 expression landmarks, head points of ``neutral``, border points."""
    return np.concatenate([landmarks, _head_points(neutral), _border_points(size, margin)])


def build_mesh(identity: Identity) -> Mesh:
    """Delaunay triangulation of the identity's mesh, computed with the mouth 0.3 IOD open."""
    from scipy.spatial import Delaunay

    open_mouth = expression_landmarks(identity.neutral, np.array([[0.3, 0, 0, 0]]), np.zeros(1))[0]
    tri = Delaunay(mesh_points(open_mouth, identity.neutral, identity.size, identity.margin)).simplices
    src = mesh_points(identity.neutral, identity.neutral, identity.size, identity.margin) + identity.margin
    return Mesh(np.ascontiguousarray(tri, dtype=np.int32), src)


def _affines(src: np.ndarray, dst: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle backward affines ``(K, 6)`` (dst -> src) and the destination areas ``(K,)`` in px²."""
    d = np.ones((len(tri), 3, 3))
    d[:, :2] = dst[tri].transpose(0, 2, 1)
    area = 0.5 * np.abs(np.linalg.det(d))
    d[area <= 1e-3] = np.eye(3)  # degenerate: never rasterised
    a = src[tri].transpose(0, 2, 1) @ np.linalg.inv(d)  # (K, 2, 3)
    return a.reshape(len(tri), 6), area


@lru_cache(maxsize=4)
def _pixel_grid(size: int) -> np.ndarray:
    """``(2, size, size)`` float32: the y and x coordinate of every pixel."""
    grid = np.mgrid[0:size, 0:size].astype(np.float32)
    grid.setflags(write=False)
    return grid


def backward_map(mesh: Mesh, dst: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(map_x, map_y, index)``, each ``(size, size)``: the canvas position every output pixel samples,
    and the triangle that pixel belongs to (``dst``: mesh vertices in output pixels)."""
    import cv2

    a, area = _affines(mesh.source, np.asarray(dst, np.float64), mesh.triangles)
    index = np.zeros((size, size), np.int32)  # pixels outside every triangle (none in practice) use triangle 0
    fixed = np.round(np.asarray(dst) * 16).astype(np.int32)
    for k in np.argsort(area)[np.sort(area) > 1e-3]:  # small first: larger ones overwrite shared edges
        cv2.fillConvexPoly(index, fixed[mesh.triangles[k]], int(k), lineType=cv2.LINE_8, shift=4)
    g = a.astype(np.float32)[index]  # (H, W, 6)
    ys, xs = _pixel_grid(size)
    return g[..., 0] * xs + g[..., 1] * ys + g[..., 2], g[..., 3] * xs + g[..., 4] * ys + g[..., 5], index


def warp_frame(canvas: np.ndarray, mesh: Mesh, dst: np.ndarray, size: int) -> np.ndarray:
    """Warp ``canvas`` so that ``mesh.source`` lands on ``dst`` (mesh vertices, output pixels): ``(size, size, 3)``."""
    import cv2

    map_x, map_y, _ = backward_map(mesh, dst, size)
    return cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _smooth_arc(points: np.ndarray, k: int = 6) -> np.ndarray:
    """Catmull–Rom curve through ``points`` (n, 2), ``k`` samples per span, end points kept."""
    p = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    t = np.linspace(0, 1, k, endpoint=False)[:, None, None]
    p0, p1, p2, p3 = p[:-3], p[1:-2], p[2:-1], p[3:]
    c = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
               + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3)  # (k, n - 1, 2)
    return np.concatenate([c.transpose(1, 0, 2).reshape(-1, 2), points[-1:]])


def _teeth_band(arc: np.ndarray, shift: np.ndarray, taper: np.ndarray) -> np.ndarray:
    """Polygon between a lip arc (m, 2) and the same arc moved by ``taper[i] * shift``."""
    return np.concatenate([arc, (arc + taper[:, None] * shift)[::-1]])


def _mouth_layer(inner: np.ndarray, teeth: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Colours of the mouth interior on the bounding box: a cavity darker at the top, a reddish tongue
    below, teeth (``teeth`` = their alpha) shaded darker toward the corners and under the upper lip."""
    hgt, wid = teeth.shape[:2]
    yy = (np.arange(y0, y0 + hgt)[:, None, None] - inner[:, 1].min()) / max(np.ptp(inner[:, 1]), 1.0)
    xx = (np.arange(x0, x0 + wid)[None, :, None] - inner[:, 0].mean()) / max(np.ptp(inner[:, 0]) / 2, 1.0)
    cavity = CAVITY_RGB + np.clip(yy - 0.45, 0, 1) * (TONGUE_RGB - CAVITY_RGB) * (1 - xx ** 2).clip(0, 1)
    shade = np.clip(1 - 0.55 * xx ** 2, 0.3, 1) * np.clip(0.8 + 0.6 * yy, 0.8, 1)
    return cavity * (1 - teeth) + TEETH_RGB * shade * teeth


def draw_mouth(frame: np.ndarray, landmarks: np.ndarray) -> None:
    """Paint the mouth interior inside the inner-lip outline (60–67) of ``frame``, in place.

    The outline is two Catmull–Rom arcs (upper 60–64, lower 64–60) meeting at sharp corners. Upper
    teeth hang up to ``0.065`` IOD below the upper inner lip, lower teeth rise up to ``0.03`` IOD
    above the lower one (both tapering to the corners); edges are anti-aliased (``cv2.LINE_AA``)
    and the layer is softened with a 0.6 px Gaussian. Nothing is drawn when the lips touch.
    """
    import cv2

    inner = np.asarray(landmarks[60:68], np.float64)
    x, y = inner[:, 0], inner[:, 1]
    if 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) < 0.5:
        return
    h, w = frame.shape[:2]
    x0, y0 = max(int(x.min()) - 2, 0), max(int(y.min()) - 2, 0)
    x1, y1 = min(int(np.ceil(x.max())) + 3, w), min(int(np.ceil(y.max())) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    _, axes, iod = face_frame(landmarks)
    off = np.array([x0, y0])

    def mask(poly: np.ndarray) -> np.ndarray:
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(m, [np.round((poly - off) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        return m.astype(np.float32)[..., None] / 255

    upper, lower = _smooth_arc(inner[[0, 1, 2, 3, 4]]), _smooth_arc(inner[[4, 5, 6, 7, 0]])
    alpha = mask(np.concatenate([upper, lower[1:-1]]))
    down, m = axes[1] * iod, len(upper)
    taper = np.sin(np.pi * np.arange(m) / (m - 1)) ** 0.5  # 0 at the corners, 1 at the midline
    teeth = np.maximum(mask(_teeth_band(upper, down * _UPPER_TEETH_IOD, 0.2 + 0.8 * taper)),
                       mask(_teeth_band(lower, -down * _LOWER_TEETH_IOD, taper ** 4)))
    layer = cv2.GaussianBlur(_mouth_layer(inner, teeth, x0, y0).astype(np.float32), (0, 0), 0.6)
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.round(region * (1 - alpha) + layer * alpha).astype(np.uint8)


def frame_meshes(identity: Identity, mouth: np.ndarray, eye_closure: np.ndarray,
                 pose_matrices: np.ndarray, rotation: np.ndarray | None = None) -> np.ndarray:
    """Destination mesh vertices ``(T, 100, 2)`` per frame: posed expression landmarks, posed head
    points, static border points (the order of :func:`mesh_points`). ``rotation``: ``(T, 2)``
    yaw/pitch degrees applied in 3-D before the 2-D pose (``None``: none)."""
    n = len(mouth)
    if pose_matrices.shape != (n, 2, 3):
        raise BadInputError("pose_matrices", f"expected ({n}, 2, 3), got {pose_matrices.shape}")
    expr = expression_landmarks(identity.neutral, mouth, eye_closure)
    head = np.repeat(_head_points(identity.neutral)[None], n, axis=0)
    points = np.concatenate([expr, head], axis=1)
    if rotation is not None:
        points = rotate_points(points, identity.neutral, MESH_DEPTH, rotation)
    posed = apply_pose(points, pose_matrices).astype(np.float64)
    border = np.repeat(_border_points(identity.size, identity.margin)[None], n, axis=0)
    return np.concatenate([posed, border], axis=1)


def _box(frame: np.ndarray, pts: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of ``pts`` grown by ``pad`` px, clipped to the frame (``None``: empty)."""
    h, w = frame.shape[:2]
    x0, y0 = max(int(pts[:, 0].min() - pad), 0), max(int(pts[:, 1].min() - pad), 0)
    x1, y1 = min(int(np.ceil(pts[:, 0].max() + pad)) + 1, w), min(int(np.ceil(pts[:, 1].max() + pad)) + 1, h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _poly_mask(shape: tuple[int, int], polys: list[np.ndarray], off: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage ``(h, w)`` float32 in [0, 1] of polygons given in frame pixels."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round((p - off) * 16).astype(np.int32) for p in polys], 255, cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255


def _line_mask(shape: tuple[int, int], arc: np.ndarray, off: np.ndarray, width: float) -> np.ndarray:
    """Anti-aliased coverage of a polyline of ``width`` px."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.polylines(m, [np.round((arc - off) * 16).astype(np.int32)], False, 255, max(int(round(width)), 1),
                  cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255


def _blend(frame: np.ndarray, box: tuple[int, int, int, int], layer: np.ndarray, alpha: np.ndarray) -> None:
    """``frame = (1 - a) frame + a layer`` on ``box``, ``a`` softened by a 0.6 px Gaussian."""
    import cv2

    x0, y0, x1, y1 = box
    a = cv2.GaussianBlur(alpha, (0, 0), 0.6)[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.round(region * (1 - a) + layer * a).clip(0, 255).astype(np.uint8)


def _outline(eye: np.ndarray) -> np.ndarray:
    """Smooth closed outline of six eye points (upper arc 0–3, lower arc 3–0)."""
    return np.concatenate([_smooth_arc(eye[[0, 1, 2, 3]]), _smooth_arc(eye[[3, 4, 5, 0]])[1:-1]])


def draw_eyelids(frame: np.ndarray, open_pts: np.ndarray, shut_pts: np.ndarray, closure: float) -> None:
    """Paint eyelids in place over eyes rendered open (``open_pts``) down to the lids of ``shut_pts``
    (both 68 landmarks; see the module docstring). ``closure`` in [0, 1] sets the lash line."""
    import cv2

    _, axes, iod = face_frame(shut_pts)
    for eye in _EYES:
        opened, shut = np.asarray(open_pts[eye], np.float64), np.asarray(shut_pts[eye], np.float64)
        centre = opened.mean(axis=0)
        cover = _outline(centre + 1.2 * (opened - centre))
        up, lo = opened[[0, 1, 2, 3]], opened[[3, 4, 5, 0]]
        above = np.concatenate([up - 0.06 * iod * axes[1], (up - 0.14 * iod * axes[1])[::-1]])
        below = np.concatenate([lo + 0.06 * iod * axes[1], (lo + 0.14 * iod * axes[1])[::-1]])
        box = _box(frame, np.concatenate([cover, above, below]), 2)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        off, shape = np.array([x0, y0]), (y1 - y0, x1 - x0)
        region = frame[y0:y1, x0:x1]
        bands = [region[_poly_mask(shape, [band], off) > 0.5] for band in (above, below)]
        if min(len(b) for b in bands) == 0:
            continue
        skin = (0.5 * np.median(bands[0], axis=0) + 0.5 * np.median(bands[1], axis=0)).astype(np.float32)
        alpha = np.clip(_poly_mask(shape, [cover], off) - _poly_mask(shape, [_outline(shut)], off), 0, 1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.015 * iod, 0.5))
        lash = _line_mask(shape, _smooth_arc(shut[[0, 1, 2, 3]]), off, 0.03 * iod)
        lash *= np.clip((closure - 0.3) / 0.5, 0, 1)
        layer = skin * (1 - 0.75 * lash[..., None])
        _blend(frame, box, layer, np.maximum(alpha, lash))


def lip_seal_weight(mouth_open: np.ndarray) -> np.ndarray:
    """How sealed the lips look, ``s = clip(1 - o / LIP_SEAL_IOD, 0, 1)``, of inner-lip gaps ``o`` (IOD)."""
    return np.clip(1.0 - np.asarray(mouth_open, np.float64) / LIP_SEAL_IOD, 0.0, 1.0)


def draw_lip_seal(frame: np.ndarray, landmarks: np.ndarray, seal: float) -> None:
    """Repaint the lips of ``frame`` in place as closed, at opacity ``seal`` (see the module docstring)."""
    pts = np.asarray(landmarks, np.float64)
    outer, inner = pts[48:60], pts[60:68]
    box = _box(frame, outer, 2)
    if box is None or seal <= 0:
        return
    x0, y0, x1, y1 = box
    off, shape = np.array([x0, y0]), (y1 - y0, x1 - x0)
    _, _, iod = face_frame(pts)
    lips = np.clip(_poly_mask(shape, [outer], off) - _poly_mask(shape, [inner], off), 0, 1)
    px = frame[y0:y1, x0:x1][lips > 0.5].astype(np.float32)
    if len(px) < 4:
        return
    red = px[:, 0] - px[:, 1:].mean(axis=1)
    colour = np.median(px[red >= np.median(red)], axis=0)
    upper_in = _smooth_arc(inner[[0, 1, 2, 3, 4]])
    upper = _poly_mask(shape, [np.concatenate([_smooth_arc(outer[[0, 1, 2, 3, 4, 5, 6]]), upper_in[::-1]])], off)
    line = _line_mask(shape, upper_in, off, 0.02 * iod)
    shade = (1.02 - 0.1 * upper) * (1 - 0.5 * line)
    _blend(frame, box, colour * shade[..., None], seal * np.maximum(_poly_mask(shape, [outer], off), line))


def render_frames(identity: Identity, mouth: np.ndarray, eye_closure: np.ndarray,
                  pose_matrices: np.ndarray, mesh: Mesh | None = None, *, rotation: np.ndarray | None = None,
                  eyelids: bool = False, lip_seal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(T, S, S, 3)`` uint8 and their exact landmarks ``(T, 68, 2)`` float32.

    Landmarks = pose(rotation(expression(neutral; mouth, eye_closure))); head points follow the rotation
    and the pose. ``rotation``, ``eyelids`` and ``lip_seal``: see the module docstring.
    """
    mesh = mesh or build_mesh(identity)
    dst = frame_meshes(identity, mouth, eye_closure, pose_matrices, rotation)
    warp_dst = frame_meshes(identity, mouth, np.zeros_like(eye_closure), pose_matrices, rotation) if eyelids else dst
    seal = lip_seal_weight(mouth[:, 0]) if lip_seal else np.zeros(len(dst))
    frames = np.empty((len(dst), identity.size, identity.size, 3), np.uint8)
    for t in range(len(dst)):
        frames[t] = warp_frame(identity.canvas, mesh, warp_dst[t], identity.size)
        if eyelids and eye_closure[t] > 0.02:
            draw_eyelids(frames[t], warp_dst[t, :68], dst[t, :68], float(eye_closure[t]))
        if seal[t] > 0:
            draw_lip_seal(frames[t], dst[t, :68], float(seal[t]))
            sealed = frames[t].astype(np.float32)
            draw_mouth(frames[t], dst[t, :68])  # the mouth interior fades in as the lips part
            frames[t] = np.round(seal[t] * sealed + (1 - seal[t]) * frames[t]).astype(np.uint8)
        else:
            draw_mouth(frames[t], dst[t, :68])
    return frames, dst[:, :68].astype(np.float32)
