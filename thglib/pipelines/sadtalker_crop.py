"""SadTalker's two image geometries: the FFHQ-style face crop, and the 224² alignment of the 3DMM regressor.

Transcribed from https://github.com/OpenTalker/SadTalker (``src/utils/croper.py``
``Preprocesser.align_face`` / ``crop``, ``src/face3d/util/preprocess.py`` ``POS`` /
``resize_n_crop_img`` / ``extract_5p`` / ``align_img``, ``src/face3d/util/load_mats.py``
``load_lm3d``), with the numpy ≥ 1.24 breakages of the original removed (scalars instead of
ragged object arrays).  Every number is as ``tests/fixtures/sadtalker_pipeline.json`` records it.

1. :func:`align_face` — from 68 landmarks, the FFHQ quad (eyes, mouth), the optional shrink of very
   large images, the crop box around the quad plus a border, and the square ``[lx, ly, rx, ry]``
   inside it (:class:`CropGeometry`);
2. :func:`cut_face` — cut that square out of a frame and resize it to ``size × size`` (the renderer's input);
3. :func:`align_img` — 5 points → least-squares scale and translation against the BFM mean face
   (:data:`LM3D_STD`) → the 224×224 crop Deep3DFaceRecon's ResNet-50 reads, and ``trans_params``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError

__all__ = ["LM3D_STD", "XSIZE", "CropGeometry", "align_face", "cut_face", "extract_5p", "pos", "align_img",
           "crop_landmarks", "template_landmarks"]

#: The BFM mean face's 5 points (left eye, right eye, nose tip, mouth corners; x right, y up), from
#: ``BFM/similarity_Lm3D_all.mat`` by ``load_lm3d``.
LM3D_STD = np.array([
    [-0.3114865720272064, 0.29036077857017517, 0.13377952575683594],
    [0.30979886651039124, 0.289720356464386, 0.1317952573299408],
    [0.003253498813137412, -0.04617932438850403, 0.5524424314498901],
    [-0.25216928124427795, -0.3813391625881195, 0.22405731678009033],
    [0.24846619367599487, -0.38128235936164856, 0.22235769033432007]], np.float32)
XSIZE = 512  #: ``Preprocesser.crop(xsize=512)``: the output size that decides the shrink
TARGET = 224  #: the 3DMM regressor's input side
RESCALE = 102.0  #: ``align_img(rescale_factor=102.)``


@dataclass(frozen=True)
class CropGeometry:
    """Where SadTalker's face crop lies.

    ``rsize`` (width, height) is the image size after the shrink (``shrink`` > 1 only for faces whose
    quad exceeds 2048 px); ``crop`` = (clx, cly, crx, cry) the quad's bounding box plus a border, in
    shrunk pixels; ``square`` = (lx, ly, rx, ry) the face square inside ``crop`` (the official
    ``quad`` entry of ``crop_info``); ``quad`` the four FFHQ corners (shrunk pixels, relative to
    ``crop``).  :attr:`box` is the square in the original image's pixels: the region the renderer's
    input comes from and the ``full`` modes paste back into.
    """

    rsize: tuple[int, int]
    shrink: int
    crop: tuple[int, int, int, int]
    square: tuple[int, int, int, int]
    quad: np.ndarray
    image_size: tuple[int, int]  #: (width, height) of the original image

    @property
    def region(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` actually cut, in shrunk pixels: the square clipped to the crop box."""
        clx, cly, crx, cry = self.crop
        lx, ly, rx, ry = self.square
        return (clx + lx, cly + ly, min(clx + rx, crx), min(cly + ry, cry))

    @property
    def box(self) -> tuple[int, int, int, int]:
        """:attr:`region` in the original image's pixels (scaled back by ``shrink``)."""
        x0, y0, x1, y1 = self.region
        if self.shrink <= 1:
            return x0, y0, x1, y1
        w, h = self.image_size
        sx, sy = w / self.rsize[0], h / self.rsize[1]
        return (int(round(x0 * sx)), int(round(y0 * sy)), min(int(round(x1 * sx)), w), min(int(round(y1 * sy)), h))

    @property
    def image_quad(self) -> np.ndarray:
        """The four FFHQ corners in the original image's pixels (for drawing)."""
        q = self.quad.astype(np.float64)
        if self.crop[2] - self.crop[0] < self.rsize[0] or self.crop[3] - self.crop[1] < self.rsize[1]:
            q = q + np.array(self.crop[:2], np.float64)
        w, h = self.image_size
        return q * np.array([w / self.rsize[0], h / self.rsize[1]])

    @property
    def official_box(self) -> tuple[int, int, int, int]:
        """``paste_pic.py``'s ``(ox1, oy1, ox2, oy2)`` = crop origin + square, unclipped, in shrunk pixels."""
        clx, cly, _, _ = self.crop
        lx, ly, rx, ry = self.square
        return clx + lx, cly + ly, clx + rx, cly + ry


def align_face(lm: np.ndarray, image_size: tuple[int, int], output_size: int = XSIZE) -> CropGeometry:
    """``Preprocesser.align_face`` for 68 landmarks ``lm`` (x, y pixels) in an image of ``(width, height)``."""
    lm = np.asarray(lm, np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise BadInputError("landmarks", f"expected (68, 2) finite points, got {lm.shape}",
                            "Pass the 68-point landmarks of thglib.face.landmarks")
    w, h = int(image_size[0]), int(image_size[1])
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg

    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    norm = np.hypot(*x)
    if norm < 1e-6:
        raise BadInputError("landmarks", "eyes and mouth coincide: not a face", "Check the landmarks")
    x = x / norm * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    qsize = np.hypot(*x) * 2

    shrink = int(np.floor(qsize / output_size * 0.5))
    if shrink > 1:
        rsize = (int(np.rint(w / shrink)), int(np.rint(h / shrink)))
        quad, qsize = quad / shrink, qsize / shrink
    else:
        rsize = (w, h)

    border = max(int(np.rint(qsize * 0.1)), 3)
    crop = (int(np.floor(quad[:, 0].min())), int(np.floor(quad[:, 1].min())),
            int(np.ceil(quad[:, 0].max())), int(np.ceil(quad[:, 1].max())))
    crop = (max(crop[0] - border, 0), max(crop[1] - border, 0), min(crop[2] + border, rsize[0]),
            min(crop[3] + border, rsize[1]))
    if crop[2] - crop[0] < rsize[0] or crop[3] - crop[1] < rsize[1]:
        quad = quad - crop[0:2]
    q = (quad + 0.5).flatten()
    lx, ly = max(min(q[0], q[2]), 0), max(min(q[1], q[7]), 0)
    rx, ry = min(max(q[4], q[6]), rsize[0]), min(max(q[3], q[5]), rsize[0])  # sic: both clamp to the width
    square = (int(lx), int(ly), int(rx), int(ry))
    geom = CropGeometry(rsize=rsize, shrink=shrink, crop=crop, square=square, quad=quad.astype(np.float32),
                        image_size=(w, h))
    x0, y0, x1, y1 = geom.region
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise BadInputError("landmarks", f"give an empty face crop {geom.region} in the {w}x{h} image",
                            "Check that the face lies inside the image")
    return geom


def cut_face(frame: np.ndarray, geom: CropGeometry, size: int = 256) -> np.ndarray:
    """``Preprocesser.crop`` then ``cv2.resize(·, (size, size))``: the ``size × size`` RGB face crop of ``frame``."""
    import cv2

    img = frame
    if (img.shape[1], img.shape[0]) != geom.rsize:
        img = cv2.resize(img, geom.rsize)
    x0, y0, x1, y1 = geom.region
    return cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1]), (size, size))


def crop_landmarks(lm: np.ndarray, geom: CropGeometry, size: int) -> np.ndarray:
    """Image landmarks mapped into the ``size × size`` crop of :func:`cut_face` (x, y pixels)."""
    lm = np.asarray(lm, np.float64)
    w, h = geom.image_size
    x0, y0, x1, y1 = geom.region
    sx, sy = geom.rsize[0] / w, geom.rsize[1] / h
    return np.stack([(lm[:, 0] * sx - x0) * size / (x1 - x0), (lm[:, 1] * sy - y0) * size / (y1 - y0)], axis=1)


def template_landmarks(width: int, height: int) -> np.ndarray:
    """``preprocess.py``'s stand-in when no landmarks are found on the crop: the mean face's 5 points
    ``(LM3D_STD[:, :2] + 1) / 2 · (W, H)`` — already in the y-up convention :func:`align_img` reads."""
    p = (LM3D_STD[:, :2].astype(np.float64) + 1) / 2
    return np.stack([p[:, 0] * width, p[:, 1] * height], axis=1)


def extract_5p(lm: np.ndarray) -> np.ndarray:
    """68 → 5 points: left eye, right eye (means of the corners 37/40 and 43/46), nose tip 31, mouth corners 49/55."""
    i = np.array([31, 37, 40, 43, 46, 49, 55]) - 1
    p = np.stack([lm[i[0]], lm[i[[1, 2]]].mean(axis=0), lm[i[[3, 4]]].mean(axis=0), lm[i[5]], lm[i[6]]])
    return p[[1, 2, 0, 3, 4]]


def pos(xp: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """``POS``: least-squares scaled orthographic fit of 3-D points ``x`` (3, n) to 2-D ``xp`` (2, n) →
    translation ``t`` (2,) and scale ``s``."""
    n = xp.shape[1]
    a = np.zeros([2 * n, 8])
    a[0:2 * n - 1:2, 0:3] = x.T
    a[0:2 * n - 1:2, 3] = 1
    a[1:2 * n:2, 4:7] = x.T
    a[1:2 * n:2, 7] = 1
    b = np.reshape(xp.T, [2 * n, 1])
    k = np.linalg.lstsq(a, b, rcond=None)[0][:, 0]
    s = (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2
    return np.array([k[3], k[7]]), float(s)


def align_img(image: np.ndarray, lm: np.ndarray, lm3d: np.ndarray = LM3D_STD, target_size: int = TARGET,
              rescale_factor: float = RESCALE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``align_img``: ``(trans_params [w0, h0, s, t0, t1] float32, aligned (224, 224, 3) uint8, lm_new)``.

    ``lm``: 68 (or 5) points with **y up** (``y = H - 1 - row``), as ``preprocess.py`` passes them.
    The image is resized (PIL bicubic) by ``s = 102 / s_POS`` and cropped 224² around the face;
    parts outside the image are black, as PIL's ``crop`` leaves them.
    """
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(image))
    w0, h0 = img.size
    lm = np.asarray(lm, np.float64)
    lm5 = lm if lm.shape[0] == 5 else extract_5p(lm)
    t, s = pos(lm5.T, np.asarray(lm3d, np.float64).T)
    s = rescale_factor / s
    w, h = int(w0 * s), int(h0 * s)
    left = int(w / 2 - target_size / 2 + float((t[0] - w0 / 2) * s))
    up = int(h / 2 - target_size / 2 + float((h0 / 2 - t[1]) * s))
    out = img.resize((w, h), resample=Image.BICUBIC).crop((left, up, left + target_size, up + target_size))
    lm_new = np.stack([lm[:, 0] - t[0] + w0 / 2, lm[:, 1] - t[1] + h0 / 2], axis=1) * s
    lm_new = lm_new - np.array([(w / 2 - target_size / 2), (h / 2 - target_size / 2)])
    trans = np.array([w0, h0, s, t[0], t[1]], np.float32)
    return trans, np.asarray(out, np.uint8), lm_new
