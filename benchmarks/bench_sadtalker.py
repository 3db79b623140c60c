"""Speed of the SadTalker pipeline (thglib.pipelines.sadtalker): frames/s per stage, end to end.

One portrait (the bundled astronaut) and ``--seconds`` of TTS speech (default 10 s, 250 frames at
25 fps).  Printed, all measured in this run:

1. **stages on the whole clip** — face + crop + 3DMM (once per clip), mel windows, motion
   (ExpNet + PoseVAE), as frames of the clip per second of wall time;
2. **renderer** — MappingNet + keypoints + renderer on ``--render-frames`` frames, as frames/s, at
   the official face-render batch (``--batch_size 2`` of ``inference.py``) and at this pipeline's
   batch (``--batch-size``, default 8 on CUDA, 4 on CPU); on CUDA also fp16 autocast, with the peak
   GPU memory of each; the ratios between them are printed;
3. **end to end** — ``animate`` in ``--mode`` on ``--e2e-seconds`` of the speech (default: the whole
   clip on CUDA, 1 s on a CPU, where 10 s take tens of minutes: the printout says which was run and
   extrapolates the rest from the measured stage rates), with its real-time factor
   RTF = wall time / audio duration (< 1: faster than real time).

The renderer's cost does not depend on the weight values, so without weights the deterministic fill
is used (and said so); ``--weights`` takes ``sadtalker_256``, the ``.safetensors`` file or SadTalker's
``checkpoints/`` folder.  ``--keep DIR`` keeps the inputs and prints the official command that runs
on the same portrait and speech, e.g. in Colab beside this script::

    python benchmarks/bench_sadtalker.py --device cuda --weights ~/SadTalker/checkpoints --keep /tmp/st
    cd SadTalker && time python inference.py --source_image /tmp/st/face.png \\
        --driven_audio /tmp/st/speech.wav --result_dir /tmp/st/official --preprocess full --still

Defaults on CPU: ``--size 128`` (the smallest renderer; 256, the weights' size, costs ~4x per frame).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from thglib.errors import BackendUnavailable, UntrainedWeightsWarning  # noqa: E402
from thglib.io import save_audio  # noqa: E402
from thglib.pipelines import sadtalker as st  # noqa: E402
from thglib.samples import portrait  # noqa: E402

TEXT = ("SadTalker turns one photo and a voice into a talking head: the expression follows the words, "
        "the eyes blink and the head moves. ")


def speech(seconds: float) -> np.ndarray:
    """``seconds`` of 16 kHz speech (TTS, looped), or a voiced buzz where eSpeak is missing."""
    try:
        from thglib.tts import synthesize

        voice = synthesize(TEXT, rate=170).audio
    except BackendUnavailable:
        t = np.arange(int(seconds * 16000)) / 16000
        voice = (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    n = int(seconds * 16000)
    return np.tile(voice, n // len(voice) + 1)[:n].astype(np.float32)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def render_rate(source: st.SourceFace, targets: np.ndarray, models: st.SadTalkerModels, mode: str, *,
                batch: int, device: str, fp16: bool) -> tuple[float, float | None]:
    """(frames/s, peak GPU memory in GiB or None) of :func:`st.render` on ``targets``."""
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    list(st.render(source, targets[:batch], models, mode, batch_size=batch, device=device, fp16=fp16))  # warm-up
    sync(device)
    t0 = time.perf_counter()
    n = sum(1 for _ in st.render(source, targets, models, mode, batch_size=batch, device=device, fp16=fp16))
    sync(device)
    dt = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    return n / dt, mem


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="speech length for stages 1-3 (default 10)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--size", type=int, choices=st.SIZES, help="renderer side (default 256 on CUDA, 128 on CPU)")
    p.add_argument("--mode", default="full", choices=st.MODES)
    p.add_argument("--weights", default="sadtalker_256", help="registry name, .safetensors file or checkpoints/ folder")
    p.add_argument("--batch-size", type=int, help="this pipeline's renderer batch (default 8 on CUDA, 4 on CPU)")
    p.add_argument("--render-frames", type=int, help="frames for the renderer rates (default 64 on CUDA, 8 on CPU)")
    p.add_argument("--e2e-seconds", type=float, help="audio for the end-to-end run (default: --seconds on CUDA, 1 on CPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--keep", help="write the inputs and outputs to this folder (kept)")
    a = p.parse_args(argv)

    cuda = a.device.startswith("cuda")
    size = a.size or (256 if cuda else 128)
    batch = a.batch_size or (8 if cuda else 4)
    n_render = a.render_frames or (64 if cuda else 8)
    e2e_s = a.e2e_seconds or (a.seconds if cuda else 1.0)
    if a.threads:
        torch.set_num_threads(a.threads)
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench-sadtalker-"))
    folder.mkdir(parents=True, exist_ok=True)
    img = portrait("astronaut")
    wav = speech(a.seconds)
    import cv2

    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    save_audio(folder / "speech.wav", wav, 16000, overwrite=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        t0 = time.perf_counter()
        models = st.load_models(a.weights, modes=("crop", "full"), size=size, device=a.device, allow_untrained=True)
        t_load = time.perf_counter() - t0
    dev_name = torch.cuda.get_device_name(0) if cuda else f"CPU, {torch.get_num_threads()} torch threads"
    print(f"SadTalker, renderer {size}x{size}, mode {a.mode}, device {a.device} ({dev_name}); {models.description}")
    if models.caveat:
        print("CAVEAT: untrained deterministic fill (timings do not depend on the weight values)")
    print(f"load weights: {t_load:.2f} s")

    # 1. stages on the whole clip
    st.prepare_source(img, models, size=size, device=a.device)  # warm-up: imports, detector, cuDNN
    t = {}
    t0 = time.perf_counter()
    source = st.prepare_source(img, models, size=size, device=a.device)
    t["face + crop + 3DMM (once)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mels = st.mel_windows(wav)
    t["mel windows"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    motion = st.audio_to_motion(mels, source.coeff_3dmm, models, seed=0, device=a.device)
    sync(a.device)
    t["motion (ExpNet + PoseVAE)"] = time.perf_counter() - t0
    n = motion.n_frames
    print(f"\n1. stages on the {a.seconds:g} s clip ({n} frames)")
    for k, v in t.items():
        print(f"   {k:28s} {v:8.3f} s   {n / v:10.1f} frames/s")

    # 2. the renderer, official batch vs this pipeline's (and fp16 on CUDA)
    targets = st.target_coefficients(motion, source.coeff_3dmm, a.mode)[:n_render]
    runs = [("official batch 2, fp32", 2, False), (f"batch {batch}, fp32", batch, False)]
    if cuda:
        runs.append((f"batch {batch}, fp16", batch, True))
    print(f"\n2. renderer (MappingNet + keypoints + renderer) on {len(targets)} frames")
    rates = {}
    for label, b, half in runs:
        fps, mem = render_rate(source, targets, models, a.mode, batch=b, device=a.device, fp16=half)
        rates[label] = fps
        print(f"   {label:24s} {fps:8.3f} frames/s" + (f"   peak GPU memory {mem:.2f} GiB" if mem is not None else ""))
    base = rates[runs[0][0]]
    for label in list(rates)[1:]:
        print(f"   ratio '{label}' / 'official batch 2, fp32': x{rates[label] / base:.2f} frames/s")

    # 3. end to end
    clip = wav[:int(e2e_s * 16000)]
    r = st.animate(img, (clip, 16000), folder / f"sadtalker_{a.mode}.mp4", mode=a.mode, weights=models, size=size,
                   device=a.device, fp16=cuda, batch_size=batch, overwrite=True, progress=False)
    print(f"\n3. end to end, animate(mode='{a.mode}'{', fp16' if cuda else ''}) on {r.audio_s:.2f} s "
          f"({r.n_frames} frames)" + (f" — {e2e_s:g} s instead of {a.seconds:g} s on this CPU" if e2e_s < a.seconds else ""))
    for k, v in r.timings.items():
        print(f"   {k:10s} {v:8.3f} s" + (f"   {r.n_frames / v:10.1f} frames/s" if v > 0 else ""))
    print(f"   total      {r.total_s:8.3f} s   {r.frames_per_s:10.2f} frames/s   RTF {r.total_s / r.audio_s:.2f}")
    if e2e_s < a.seconds:
        per_frame = (r.timings.get("render", 0) + r.timings.get("paste", 0) + r.timings.get("encode", 0)) / r.n_frames
        est = sum(t.values()) + per_frame * n
        print(f"   the {a.seconds:g} s clip would take ≈ {est / 60:.1f} min here (stages 1-3 measured above, "
              f"render + paste + encode at the measured {1 / per_frame:.2f} frames/s)")
    print(f"\ninputs: {folder / 'face.png'}  {folder / 'speech.wav'}")
    print(f"official: python inference.py --source_image {folder / 'face.png'} --driven_audio "
          f"{folder / 'speech.wav'} --result_dir {folder / 'official'} --preprocess {'full' if a.mode != 'crop' else 'crop'}"
          + (" --still" if a.mode == "still" else "") + f" --size {size if size in (256, 512) else 256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
