"""Issue #19, finding 5: labels and hints.

* every metric computed with untrained or stand-in weights says so in its *name*;
* every :class:`~thglib.errors.WeightsUnavailable` names the argument of the function that raised it;
* warnings raised while scoring reach the result and the CLI summaries (``thg eval``, ``thg lipsync``);
* an MP4 made with placeholder weights carries a metadata tag and a visible corner mark, and one made
  with real weights neither.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from thglib import lipsync as ls
from thglib import weights
from thglib.cli import main
from thglib.errors import BadInputError, WeightsUnavailable
from thglib.io import read_video, save_audio, write_video
from thglib.metrics import distribution as D
from thglib.metrics import perceptual, sync
from thglib.metrics.card import UNTRAINED_TAG, untrained_name
from thglib.metrics.extractors import UNTRAINED_CAVEAT, InceptionV3Features, metric_name
from thglib.models import Wav2Lip, fill_
from thglib.pipelines.mux import MARK_COLOUR, UNTRAINED_MARK, mark_box, mark_frame, mp4_comment
from thglib.samples import portrait


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, an empty weights cache and an empty torchvision hub: registry weights are unavailable."""
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg_home"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def _frames(n: int = 3, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


class _Features:
    """A stand-in FeatureExtractor (4-D features passed in directly) that claims Inception's short name."""

    name, short, dim, weights = "toy", "inception", 4, "toy weights"

    def __init__(self, caveat: str) -> None:
        self.caveat = caveat

    def __call__(self, frames: np.ndarray) -> np.ndarray:  # never called: features are given
        raise AssertionError("features are passed precomputed")


# ------------------------------------------------------------------------------------------- names
def test_untrained_name_appends_the_tag_once() -> None:
    assert untrained_name("LPIPS-alex") == "LPIPS-alex (untrained)" == untrained_name("LPIPS-alex (untrained)")
    assert untrained_name("PSNR", False) == "PSNR"


def test_untrained_lpips_says_so_in_its_name_and_trained_names_stay_plain() -> None:
    a, b = _frames(), _frames(seed=1)
    res = perceptual.lpips(a, b, allow_untrained=True)
    assert res.name == "LPIPS-alex (untrained)" and res.card.caveat == UNTRAINED_CAVEAT
    assert res.label().startswith("LPIPS-alex (untrained) ↓")
    assert perceptual.lpips(a, b, net="vgg", allow_untrained=True).name == "LPIPS-vgg (untrained)"


def test_untrained_inception_names_fid_kid_is_as_untrained() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)), rng.standard_normal((40, 4)) + 0.5
    untrained, trained = _Features(UNTRAINED_CAVEAT), _Features("")
    assert D.fid(x, y, untrained).name == "FID (untrained)"
    assert D.fid(x, y, trained).name == "FID"
    assert D.kid(x, y, untrained, subsets=5, subset_size=20).name == "KID (untrained)"
    assert metric_name("IS", untrained) == "IS (untrained)" and metric_name("IS", trained) == "IS"
    assert InceptionV3Features("logits", allow_untrained=True).caveat == UNTRAINED_CAVEAT  # what sets the tag


def test_untrained_syncnet_fill_says_so_in_the_lse_names() -> None:
    frames = _frames(16, 48, seed=2)
    t = np.arange(int(16 / 25 * 16000)) / 16000
    audio = (0.4 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    r = sync.lse(frames, audio, scorer="syncnet_v2_fill")
    assert r.lse_d.name == "LSE-D" + UNTRAINED_TAG and r.lse_c.name == "LSE-C (untrained)"
    assert r.lse_d.extra["warnings"] == [] and not r.lse_d.extra["silent_audio"]
    assert "(THG-Synth expert)" in sync.lse(frames, audio, scorer="thgsynth_expert").lse_d.name  # a stand-in too


# ----------------------------------------------------------------------------- WeightsUnavailable
def test_lpips_offline_error_names_weights_not_path() -> None:
    with pytest.raises(WeightsUnavailable) as e:
        perceptual.lpips(_frames(), _frames(seed=1))
    msg = str(e.value)
    assert "`weights=`" in msg and "path=" not in msg and e.value.arg == "weights"
    with pytest.raises(BadInputError) as bad:  # a wrong local file: named as lpips' own argument too
        perceptual.lpips(_frames(), _frames(seed=1), weights=Path("/nonexistent/alexnet.pth"))
    assert bad.value.what == "weights"


def test_inception_and_wav2lip_errors_name_their_arguments() -> None:
    with pytest.raises(WeightsUnavailable) as e:
        InceptionV3Features()
    assert "`weights=`" in str(e.value) and "`path=`" not in str(e.value) and "allow_untrained=True" in str(e.value)
    with pytest.raises(WeightsUnavailable) as e:
        ls.load_generator("wav2lip_gan")
    assert "`weights=`" in str(e.value) and "`path=`" not in str(e.value) and e.value.arg == "weights"


def test_generic_fetch_names_path_and_a_caller_can_name_its_own_argument() -> None:
    with pytest.raises(WeightsUnavailable) as e:
        weights.fetch("fid_inception")
    assert "the `path=` argument" in str(e.value) and e.value.arg == "path"
    with pytest.raises(WeightsUnavailable) as e:
        weights.fetch("fid_inception", arg="checkpoint")
    assert "the `checkpoint=` argument" in str(e.value) and "path=" not in str(e.value)
    again = e.value.for_arg("model_file", " (or use the offline protocol)")
    assert "`model_file=` argument (or use the offline protocol)" in str(again) and again.arg == "model_file"
    assert again.name == "fid_inception" and again.path == e.value.path
    with pytest.raises(BadInputError) as bad:
        weights.fetch("fid_inception", path="/nonexistent/pt_inception.pth", arg="weights")
    assert bad.value.what == "weights"


def test_vgg19_and_perceptual_loss_errors_name_weights_not_path() -> None:
    from thglib.losses.perceptual import PerceptualLoss, VGG19Features

    for build in (VGG19Features, PerceptualLoss):
        with pytest.raises(WeightsUnavailable) as e:
            build()
        msg = str(e.value)
        assert "`weights=`" in msg and "path=" not in msg and "allow_untrained=True" in msg and e.value.arg == "weights"
    with pytest.raises(BadInputError) as bad:
        VGG19Features(weights=Path("/nonexistent/vgg19-dcbb9e9d.pth"))
    assert bad.value.what == "weights"


def test_identity_loss_error_names_embedder() -> None:
    from thglib.losses.identity import IdentityLoss

    with pytest.raises(WeightsUnavailable) as e:
        IdentityLoss()
    assert "embedder=" in str(e.value) and "path=" not in str(e.value) and e.value.arg == "embedder"


def test_hf_recogniser_error_names_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from thglib.metrics.transcript import hf_recogniser

    def offline_pipeline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load this model")

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(pipeline=offline_pipeline))
    with pytest.raises(WeightsUnavailable) as e:
        hf_recogniser("openai/whisper-tiny")
    msg = str(e.value)
    assert "`model=` argument of hf_recogniser" in msg and "path=" not in msg and e.value.arg == "model"
    assert "couldn't connect" in msg and "huggingface.co/openai/whisper-tiny" in msg


def test_mini_checkpoint_and_iqa_errors_say_what_to_pass_instead(tmp_path: Path, monkeypatch) -> None:
    from thglib.metrics import iqa
    from thglib.models import mini_lipsync

    monkeypatch.setattr(mini_lipsync, "_REPO_MODELS", tmp_path / "no_models")   # as an install without data/
    with pytest.raises(WeightsUnavailable) as e:
        mini_lipsync.mini_checkpoint("expert")
    msg = str(e.value)
    assert "load_mini(path, kind)" in msg and "data/models/mini_lipsync_expert.safetensors" in msg
    assert "pass its location with" not in msg
    with pytest.raises(WeightsUnavailable) as e:
        iqa.load_iqa("musiq", device="cpu")   # the iqa metrics take no weights argument at all
    msg = str(e.value)
    assert "path=" not in msg and "take no weights argument" in msg and "at that path, or go online" in msg


def test_lse_without_syncnet_weights_names_scorer() -> None:
    frames = _frames(16, 48, seed=2)
    t = np.arange(int(16 / 25 * 16000)) / 16000
    with pytest.raises(WeightsUnavailable) as e:
        sync.lse(frames, (0.4 * np.sin(2 * np.pi * 180 * t)).astype(np.float32))
    assert e.value.arg == "scorer" and "scorer=load_scorer('syncnet_v2', path=PATH)" in str(e.value)


# ------------------------------------------------------------------------------- warnings reach you
def test_silent_audio_warning_is_kept_on_the_lse_result() -> None:
    frames = _frames(16, 48, seed=2)
    with pytest.warns(UserWarning, match="silent audio"):
        r = sync.lse(frames, np.zeros(int(16 / 25 * 16000), np.float32), scorer="thgsynth_expert")
    for m in (r.lse_d, r.lse_c):
        assert len(m.extra["warnings"]) == 1 and "silent audio" in m.extra["warnings"][0]


def test_thg_eval_summary_prints_each_clips_warnings(tmp_path: Path, capsys) -> None:
    from thglib import synth

    clip = synth.make_clip("bin blue at f two now", identity="grace_hopper", seed=0,
                           params=synth.SynthParams(size=128))
    gen = write_video(tmp_path / "quiet.mp4", clip.frames, 25, audio=np.zeros_like(clip.audio), sample_rate=16000)
    rc = main(["eval", str(gen), "--metrics", "lse,cpbd", "--protocol", "thg-synth", "--out", str(tmp_path / "ev"),
               "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "1 warning(s) in quiet:" in out and "lse: warning:" in out and "silent audio" in out
    import json

    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert [w for w in summary["warnings"]["quiet"] if "silent audio" in w]
    assert "silent audio" in (tmp_path / "ev" / "report.html").read_text()


# --------------------------------------------------------------------------- placeholder-weight MP4s
def test_mark_frame_draws_the_text_in_the_corner_only() -> None:
    frame = np.full((150, 128, 3), 128, np.uint8)
    marked = mark_frame(frame)
    x0, y0, x1, y1 = mark_box(150, 128)
    changed = (marked != frame).any(axis=2)
    assert changed[y0:y1, x0:x1].all() and not changed[y1:].any() and not changed[:, x1:].any()
    assert MARK_COLOUR == (255, 255, 0) and _yellow(marked, (x0, y0, x1, y1)) > 20  # the text, in its colour
    assert not (marked[y0:y1, x0:x1] == 128).all(axis=2).any()  # on a black box
    assert (frame == 128).all()  # the input is not modified
    with pytest.raises(BadInputError, match="frame"):
        mark_frame(np.zeros((4, 4), np.uint8))


def _yellow(frame: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """Pixels of ``box`` close to the mark's yellow after H.264 (red and green high, blue low)."""
    x0, y0, x1, y1 = box
    r = frame[y0:y1, x0:x1].astype(int)
    return int(((r[..., 0] > 150) & (r[..., 1] > 150) & (r[..., 2] < 110)).sum())


def _speech_wav(path: Path) -> Path:
    t = np.arange(int(0.24 * 16000)) / 16000
    return save_audio(path, (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.55 + 0.45 * np.sin(8 * np.pi * t)))
                      .astype(np.float32), 16000)


def test_placeholder_weights_mp4_is_tagged_and_marked_real_weights_are_not(tmp_path: Path, capsys) -> None:
    face = cv2.resize(portrait("grace_hopper"), (128, 150), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "face.png"), face[..., ::-1])
    wav = _speech_wav(tmp_path / "speech.wav")
    rc = main(["lipsync", "--face", str(tmp_path / "face.png"), "--audio", str(wav), "--out",
               str(tmp_path / "untrained.mp4"), "--allow-untrained", "--quiet", "--fps", "30"])
    assert rc == 0
    out = capsys.readouterr().out
    # the non-25 fps warning of the expert's score reaches the result's summary, which the CLI prints
    assert "WARNING (sync score)" in out and "30 fps" in out
    assert UNTRAINED_MARK in (mp4_comment(tmp_path / "untrained.mp4") or "")
    box = mark_box(150, 128)
    x0, y0, x1, y1 = box
    marked = read_video(tmp_path / "untrained.mp4", audio=False).frames
    corner = face[y0:y1, x0:x1].astype(int)  # the portrait's own corner, far from the face box

    # the same network as a checkpoint file in Wav2Lip's own format: "real" weights, no mark, no tag
    net = fill_(Wav2Lip().eval(), ls.UNTRAINED_FILL)
    ckpt = tmp_path / "my_wav2lip.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "global_step": 0}, ckpt)
    r = ls.lipsync(face, wav, tmp_path / "real.mp4", weights=ckpt, sync=False, progress=False)
    assert r.caveat is None and "UNTRAINED" not in (mp4_comment(r.output) or "")
    plain = read_video(r.output, audio=False).frames
    for m, p in zip(marked, plain):
        assert np.abs(p[y0:y1, x0:x1].astype(int) - corner).mean() < 6  # unmarked: the portrait
        assert np.abs(m[y0:y1, x0:x1].astype(int) - corner).mean() > 40  # marked: a black box ...
        assert _yellow(m, box) > _yellow(p, box) + 20  # ... with yellow text
    # in the marked run, everything outside the mark is the same picture as in the unmarked one
    outside = np.ones(plain.shape[1:3], bool)
    outside[:y1 + 4, :x1 + 4] = False
    assert np.abs(marked[0].astype(int) - plain[0].astype(int))[outside].mean() < 2
