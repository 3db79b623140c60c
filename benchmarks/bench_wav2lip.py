"""Speed of the whole Wav2Lip pipeline (thglib.lipsync): frames/s per stage and real-time factor.

A ``--seconds`` clip (default 10 s at 25 fps, ``--size`` px square, Grace Hopper under a drifting
camera) is lip-synced to TTS speech of the same length, twice, in the same run:

* CPU (default): face detection on every frame (as the official ``inference.py``) vs. every
  ``--every`` frames with landmark tracking in between;
* ``--device cuda --fp16``: fp32 vs. fp16 autocast (same detection setting, ``--every``).

It prints seconds per stage (decode, detect, crop, generate, paste, encode, ...), output frames
per second and the real-time factor RTF = wall time / clip duration (< 1: faster than real time),
then the ratios of the two runs.  Timings do not depend on the weight values, so without weights
an untrained fill is used (and said so); ``--weights PATH`` runs the real checkpoint, e.g. to
compare with the official code on the same inputs::

    python benchmarks/bench_wav2lip.py --weights ~/wav2lip_gan.pth --keep /tmp/w2l
    cd Wav2Lip && time python inference.py --checkpoint_path ~/wav2lip_gan.pth \\
        --face /tmp/w2l/face.mp4 --audio /tmp/w2l/speech.wav --outfile /tmp/w2l/official.mp4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from thglib.errors import BackendUnavailable  # noqa: E402
from thglib.io import load_audio, save_audio, write_video  # noqa: E402
from thglib.lipsync import LipSyncResult, lipsync, load_generator  # noqa: E402
from thglib.samples import moving_portrait  # noqa: E402

TEXT = ("The quick brown fox jumps over the lazy dog. Lip sync experts judge whether the mouth "
        "moves with the words, frame after frame, and a good generator fools them. ")


def make_inputs(folder: Path, seconds: float, fps: float, size: int) -> tuple[Path, Path]:
    """Write ``face.mp4`` (moving portrait) and ``speech.wav`` (TTS, looped/trimmed to ``seconds``)."""
    n = int(round(seconds * fps))
    face = write_video(folder / "face.mp4", moving_portrait("grace_hopper", n_frames=n, size=size,
                                                            period=4 * fps), fps, overwrite=True)
    try:
        from thglib.tts import synthesize

        voice = synthesize(TEXT).audio
    except BackendUnavailable:  # no eSpeak here: a voiced buzz with a syllable envelope
        t = np.arange(int(seconds * 16000)) / 16000
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
        voice = (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * envelope).astype(np.float32)
    need = int(seconds * 16000)
    speech = np.tile(voice, need // len(voice) + 1)[:need]
    return face, save_audio(folder / "speech.wav", speech, 16000, overwrite=True)


def run(label: str, face: Path, speech: Path, out: Path, **kw: object) -> tuple[str, LipSyncResult]:
    r = lipsync(face, speech, out, overwrite=True, progress=False, sync=False, **kw)
    return label, r


def report(results: list[tuple[str, LipSyncResult]], seconds: float) -> None:
    import pandas as pd

    rows = {}
    for label, r in results:
        row = {f"{k} (s)": v for k, v in r.timings.items()}
        row.update({"total (s)": r.total_s, "frames/s": r.frames_per_s, "RTF": r.total_s / seconds,
                    "detector": r.boxes.detector, "batch": r.batch_size})
        rows[label] = row
    table = pd.DataFrame(rows).T
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 3):
        print(table)
    (a, ra), (b, rb) = results[0], results[1]
    print(f"\nratio '{b}' / '{a}': total time x{rb.total_s / ra.total_s:.3f}, "
          f"frames/s x{rb.frames_per_s / ra.frames_per_s:.2f}")
    for stage in ("detect", "generate"):
        if ra.timings.get(stage) and rb.timings.get(stage):
            print(f"  {stage}: x{rb.timings[stage] / ra.timings[stage]:.3f} of the time")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--size", type=int, default=256, help="frame side in px (default 256)")
    p.add_argument("--weights", default="wav2lip_gan", help="registry name or checkpoint path")
    p.add_argument("--device", default="cpu")
    p.add_argument("--fp16", action="store_true", help="with --device cuda: compare fp32 and fp16")
    p.add_argument("--every", type=int, default=5, help="detection interval of the tracking run")
    p.add_argument("--detector", default="auto")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--keep", help="write the inputs and outputs to this folder (kept)")
    a = p.parse_args(argv)

    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench-wav2lip-"))
    folder.mkdir(parents=True, exist_ok=True)
    face, speech = make_inputs(folder, a.seconds, a.fps, a.size)
    model, desc, caveat = load_generator(a.weights, device=a.device, allow_untrained=True)
    common = dict(weights=model, device=a.device, detector=a.detector, batch_size=a.batch_size)
    # warm-up: imports (librosa), detector and landmark models, CUDA context and cuDNN autotuning
    wav, sr = load_audio(speech)
    lipsync(face, (wav[:sr // 4], sr), folder / "warmup.mp4", overwrite=True, progress=False, sync=False,
            detect_every=a.every, fp16=a.fp16, **common)
    print(f"{a.seconds:g} s clip, {a.size}x{a.size} px at {a.fps:g} fps; {desc}; device {a.device}"
          + (f"\nCAVEAT: {caveat} (timings do not depend on the weight values)" if caveat else ""))
    if a.fp16:
        results = [run("fp32", face, speech, folder / "fp32.mp4", detect_every=a.every, **common),
                   run("fp16", face, speech, folder / "fp16.mp4", detect_every=a.every, fp16=True, **common)]
    else:
        results = [run("detect every frame", face, speech, folder / "every1.mp4", detect_every=1, **common),
                   run(f"detect every {a.every} + track", face, speech, folder / f"every{a.every}.mp4",
                       detect_every=a.every, **common)]
    report(results, a.seconds)
    print(f"\ninputs: {face}  {speech}")
    print(f"official: python inference.py --checkpoint_path WEIGHTS --face {face} --audio {speech} "
          f"--outfile {folder / 'official.mp4'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
