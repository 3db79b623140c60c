"""Held-out metrics of a mini lip-sync model, with THG-Synth's exact ground truth and two sync scorers.

For each held-out clip the model redraws every frame's lower half from its audio, through the same
input/output path as the pipeline (:func:`thglib.lipsync.model_inputs`, :func:`~thglib.lipsync.output_faces`).
The reference half of the input is the frame ``T/2`` frames away (so the true mouth of the frame
is never shown; Wav2Lip's ``inference.py`` shows the frame itself, which on parallel data would let a
model copy the answer). Then, against the true 96² crops:

* mouth PSNR / SSIM (:mod:`thglib.metrics.pixel`) in the box around the true mouth landmarks 48–67
  (union over the clip, 4 px margin);
* LMD (:func:`thglib.metrics.landmark.lmd_points`, mouth, 96² crop pixels): dlib's landmarks on the
  output vs the **exact** landmarks; the same on the true crops gives the detector's floor;
* sync by the **loss expert** (:class:`~thglib.models.mini_lipsync.MiniSyncExpert`): the LSE offset
  search (:func:`thglib.metrics.sync.offset_distances`) over its normalised embeddings;
* sync by an **independent expert** — the THG-Synth SyncNet-style expert (other architecture,
  inputs, objective and data): the output pasted back into the frames and scored by
  :func:`thglib.metrics.sync.lse` (face track, 224² crops, MFCCs);
* mouth sharpness (:func:`thglib.metrics.sharpness.cpbd`, mean over frames of the mouth box
  upscaled ≥ 2× with bicubic interpolation, because CPBD works on 64×64 blocks);
* flicker: warping error of the output with the flow of the *true* frames
  (:func:`thglib.losses.temporal.flow_warping_loss`, occlusion-masked, lower half, 0–255 scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .data import ClipArrays

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["generate", "mouth_box", "loss_expert_sync", "warping_error", "independent_sync", "evaluate_clip",
           "evaluate", "summarise"]


@torch.no_grad()
def generate(model: nn.Module, clip: ClipArrays, *, batch_size: int = 64) -> np.ndarray:
    """``(T, 96, 96, 3)`` uint8 RGB outputs; reference = the frame ``T // 2`` later (cyclically)."""
    from ..lipsync import model_inputs, output_faces

    model.eval()
    ref = np.roll(clip.crops, -(clip.n_frames // 2), axis=0)
    outs = []
    for s in range(0, clip.n_frames, batch_size):
        x = model_inputs(clip.crops[s:s + batch_size], ref[s:s + batch_size])
        mel = torch.from_numpy(clip.mels[s:s + batch_size])[:, None]
        outs.append(output_faces(model(mel, x)))
    return np.concatenate(outs)


def mouth_box(landmarks: np.ndarray, margin: int = 4, size: int = 96) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)``: the box around mouth landmarks 48–67 of all frames, plus ``margin`` px."""
    m = landmarks[:, 48:68]
    x0, y0 = np.floor(m.reshape(-1, 2).min(0)).astype(int) - margin
    x1, y1 = np.ceil(m.reshape(-1, 2).max(0)).astype(int) + margin
    return max(0, y0), min(size, y1), max(0, x0), min(size, x1)


@torch.no_grad()
def loss_expert_sync(expert: nn.Module, faces96: np.ndarray, mels: np.ndarray, vshift: int = 15) -> dict:
    """LSE-D / LSE-C / offset of ``faces96`` against ``mels`` by the mini expert (unit-norm ReLU'd embeddings)."""
    import cv2

    from ..metrics.sync import lse_from_distances, offset_distances
    from .expert import lower_windows

    small = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in faces96])
    lower = lower_windows(small)
    v = nn.functional.normalize(nn.functional.relu(expert.forward_lip(lower)), dim=1)
    a = nn.functional.normalize(nn.functional.relu(expert.forward_aud(torch.from_numpy(mels[:len(lower)])[:, None])),
                                dim=1)
    r = lse_from_distances(offset_distances(v, a, vshift), vshift)
    return {"lse_d": r["lse_d"], "lse_c": r["lse_c"], "offset": r["offset"]}


def warping_error(faces: np.ndarray, truth: np.ndarray) -> float:
    """Mean occlusion-masked ``|O_t − W(O_{t−1})|`` (0–255) on the lower half, flow from ``truth``."""
    from ..losses.temporal import farneback_flow, flow_warping_loss, occlusion_mask, warp

    flow = farneback_flow(truth[1:], truth[:-1])
    t = torch.from_numpy(truth).permute(0, 3, 1, 2).float() / 255
    o = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255
    mask = occlusion_mask(t[1:], warp(t[:-1], flow))
    h = faces.shape[1] // 2
    lower = (slice(None), slice(None), slice(h, None))
    return 255 * float(flow_warping_loss(o[1:][lower], o[:-1][lower], flow[lower], mask[lower]))


def _mouth_lmd(faces: np.ndarray, truth_landmarks: np.ndarray) -> float:
    """Mouth LMD (96² px) of dlib's landmarks on ``faces`` (upscaled 2×, box = whole crop) vs the truth."""
    import cv2

    from ..face import landmarks
    from ..metrics.landmark import lmd_points

    det = np.stack([landmarks(cv2.resize(f, (192, 192), interpolation=cv2.INTER_CUBIC), box=(0, 0, 192, 192),
                              backend="dlib").points / 2 for f in faces])
    return float(lmd_points(truth_landmarks, det, region="mouth", source="dlib on 2x-upscaled crops").value)


def _cpbd_mouth(mouths: np.ndarray) -> float:
    """CPBD of ``(T, h, w, 3)`` mouth boxes, upscaled (bicubic) by ``max(2, 64/h, 64/w)``."""
    import cv2

    from ..metrics.sharpness import cpbd

    h, w = mouths.shape[1:3]
    f = max(2.0, 64 / h, 64 / w)
    size = (int(np.ceil(w * f)), int(np.ceil(h * f)))
    return float(cpbd(np.stack([cv2.resize(m, size, interpolation=cv2.INTER_CUBIC) for m in mouths]),
                      progress=False).value)


def independent_sync(frames: np.ndarray, audio: np.ndarray, boxes: np.ndarray) -> dict:
    """LSE-D / LSE-C / offset of full frames by the THG-Synth expert: its own face track (every 5
    frames), or, where dlib's tracker finds no face (the held-out real face), ``boxes`` (the
    pipeline's face boxes, noted in ``independent_note``)."""
    from ..errors import NoFaceError
    from ..metrics.sync import lse, syncnet_inputs

    note = ""
    try:
        inp = syncnet_inputs(frames, audio, sample_rate=16000, fps=25.0, crop="track", every=5)
    except NoFaceError:
        inp = syncnet_inputs(frames, audio, sample_rate=16000, fps=25.0, crop="track", boxes=boxes.astype(np.float64))
        note = "pipeline face boxes (the tracker found no face)"
    r = lse(inp, scorer="thgsynth_expert")
    return {"lse_d_independent": float(r.lse_d.value), "lse_c_independent": float(r.lse_c.value),
            "offset_independent": int(r.offset), "independent_note": note}


def evaluate_clip(model: nn.Module, clip: ClipArrays, expert: nn.Module, *, independent: bool = True) -> dict:
    """All metrics of the module docstring for one held-out clip (a dict of floats); ``*_truth`` are
    the same measures of the true crops (the detector's LMD floor, the real mouth's CPBD, the
    flow estimator's warping floor)."""
    from ..metrics.pixel import psnr, ssim
    from ..pipelines.paste import paste_face

    out = generate(model, clip)
    y0, y1, x0, x1 = mouth_box(clip.landmarks)
    gm, tm = out[:, y0:y1, x0:x1], clip.crops[:, y0:y1, x0:x1]
    row = {"clip": clip.name, "identity": clip.identity,
           "mouth_psnr": float(psnr(tm, gm, progress=False).value), "mouth_ssim": float(ssim(tm, gm, progress=False).value),
           "lmd": _mouth_lmd(out, clip.landmarks), "lmd_truth": _mouth_lmd(clip.crops, clip.landmarks),
           "cpbd": _cpbd_mouth(gm), "cpbd_truth": _cpbd_mouth(tm),
           "warp_error": warping_error(out, clip.crops), "warp_error_truth": warping_error(clip.crops, clip.crops)}
    row |= {f"{k}_loss_expert": v for k, v in loss_expert_sync(expert, out, clip.mels).items()}
    if independent and clip.frames is not None:
        frames = np.stack([paste_face(f, y, b) for f, y, b in zip(clip.frames, out, clip.boxes)])
        row |= independent_sync(frames, clip.audio, clip.boxes)
    return row


def evaluate(model: nn.Module, clips: Sequence[ClipArrays], expert: nn.Module, *, independent: bool = True) -> list[dict]:
    """:func:`evaluate_clip` for every clip."""
    return [evaluate_clip(model, c, expert, independent=independent) for c in clips]


def summarise(results: pd.DataFrame, metrics: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Per configuration: the mean over seeds of each run's clip-mean, and the half-width of its
    Student-t confidence interval, ``t_{(1+level)/2, n−1} · s / √n`` over the ``n`` seeds (NaN for n = 1)."""
    import pandas as pd
    from scipy import stats

    runs = results.groupby(["config", "seed"], sort=False)[list(metrics)].mean()
    out = {}
    for config, g in runs.groupby(level="config", sort=False):
        n = len(g)
        half = stats.t.ppf((1 + level) / 2, n - 1) * g.std(ddof=1) / np.sqrt(n) if n > 1 else g.mean() * np.nan
        out[config] = pd.concat({"mean": g.mean(), "ci": half, "seeds": pd.Series(n, index=g.columns)}, axis=1).stack()
    return pd.DataFrame(out).T
