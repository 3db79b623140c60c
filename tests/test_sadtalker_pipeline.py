"""The SadTalker pipeline (thglib.pipelines.sadtalker) end to end, offline, on a bundled portrait.

The real renderer (101 M parameters) costs seconds per frame on two CPU cores, so the end-to-end runs
use every real network (filled deterministically) except the renderer, which is a cheap stand-in that
moves the crop with the keypoints; one test runs the real renderer on one frame and checks it against
the official per-frame call.  Constants are checked against tests/fixtures/sadtalker_pipeline.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from thglib.cli import main
from thglib.errors import BadInputError, MediaError, NoFaceError, UntrainedWeightsWarning, WeightsUnavailable
from thglib.io import load_audio, probe, read_video, save_audio
from thglib.models import sadtalker as nets
from thglib.pipelines import sadtalker as st
from thglib.pipelines import sadtalker_crop as sc
from thglib.pipelines.batching import BatchRunner
from thglib.pipelines.mux import mark_box, mp4_comment
from thglib.samples import portrait

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "sadtalker_pipeline.json").read_text())
SIZE = 128  # the smallest renderer side the hourglasses divide


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: two workers sharing two cores with two threads each thrash (ResNet-50: 0.15 s → 3 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network and an empty weights cache: the registry weights are always unavailable here."""
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg_home"))


class ShiftRenderer(nn.Module):
    """Stand-in renderer: the source crop shifted by the mean driving-minus-source keypoint motion."""

    def __init__(self, oom_above: int | None = None) -> None:
        super().__init__()
        self.oom_above, self.calls = oom_above, []

    def forward(self, source_image: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor) -> dict:
        b, _, h, w = source_image.shape
        self.calls.append(b)
        if self.oom_above is not None and b > self.oom_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        d = (kp_driving - kp_source).mean(dim=1)[:, :2]
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, :, 2] = -d
        grid = F.affine_grid(theta, list(source_image.shape), align_corners=False)
        pred = F.grid_sample(source_image, grid, padding_mode="border", align_corners=False)
        return {"prediction": pred, "occlusion_map": torch.ones(b, 1, h // 4, w // 4),
                "mask": torch.ones(b, 16, 16, h // 4, w // 4) / 16}


@pytest.fixture(scope="module")
def models() -> st.SadTalkerModels:
    """Every SadTalker network filled as its fixture, except the renderer (:class:`ShiftRenderer`)."""
    parts = {n: st._untrained(n, "cpu") for n in ("face_3drecon", "audio2exp", "audio2pose", "kp_extractor")}
    return st.SadTalkerModels(**parts, generator=ShiftRenderer(),
                              mapping={k: st._untrained(f"mapping_{k}", "cpu") for k in ("crop", "full")},
                              description="test networks: deterministic fill, stand-in renderer",
                              caveat="UNTRAINED WEIGHTS (test)")


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return cv2.resize(portrait("astronaut"), (240, 256), interpolation=cv2.INTER_AREA)


def tone(seconds: float, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (0.4 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


# --------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("mode", st.MODES)
def test_each_mode_makes_a_playable_mp4_of_the_audio_duration(mode: str, models, face, tmp_path: Path) -> None:
    sr = 22050  # any rate: resampled for the model, muxed as it is
    wav = save_audio(tmp_path / "speech.wav", np.stack([tone(0.36, sr)] * 2, axis=1), sr)
    r = st.animate(face, wav, tmp_path / f"{mode}.mp4", mode=mode, weights=models, size=SIZE, progress=False)
    n = int(0.36 * 16000 / 640)  # generate_batch.py: int(samples / 640)
    info = probe(r.output)
    assert r.n_frames == n == info.n_frames and info.fps == 25 and info.codec == "h264" and info.has_audio
    audio, a_sr = load_audio(r.output, sr=None)
    assert a_sr == sr and abs(len(audio) / a_sr - n / 25) < 0.03
    assert mp4_comment(r.output) == "UNTRAINED WEIGHTS (test)"
    frames = read_video(r.output, audio=False).frames
    x0, y0, x1, y1 = r.source.geometry.box
    if mode == "crop":  # animate.py: (size, size * h / w) of the crop box (here clipped by the image edge)
        rx0, ry0, rx1, ry1 = r.source.geometry.region
        assert abs(frames.shape[1] - SIZE * (ry1 - ry0) / (rx1 - rx0)) <= 1 and frames.shape[2] == SIZE
        assert frames.shape[1] % 2 == 0 and r.targets.shape == (n, 70)
    else:  # pasted back: the whole image, untouched far from the face box
        assert frames.shape[1:3] == face.shape[:2] and r.targets.shape == (n, 73)
        outside = np.ones(face.shape[:2], bool)
        outside[max(y0 - 8, 0):y1 + 8, max(x0 - 8, 0):x1 + 8] = False
        mx0, my0, mx1, my1 = mark_box(*face.shape[:2])  # the "UNTRAINED WEIGHTS" corner mark
        outside[my0:my1 + 4, mx0:mx1 + 4] = False
        assert np.abs(frames[0].astype(int) - face)[outside].mean() < 4
    still = r.targets[:, 64:] == r.source.coeff_3dmm[None, 64:r.targets.shape[1]]
    assert still.all() == (mode == "still") and r.still == (mode == "still")
    assert r.stages.kp_driving.shape == (n, 15, 3) and r.stages.occlusion.shape == (n, SIZE // 4, SIZE // 4)
    assert set(r.timings) >= {"load", "face", "mel", "motion", "render", "paste", "encode"}
    assert "dlib" in r.summary() and "98-point FAN" in r.summary() and "CAVEAT" in r.summary()


def test_the_same_seed_gives_the_same_video_and_another_seed_other_motion(models, face, tmp_path: Path) -> None:
    from thglib import tts

    speech = tts.synthesize("Hello there.", rate=200)
    runs = [st.animate(face, speech, tmp_path / f"{i}.mp4", weights=models, size=SIZE, seed=7, progress=False)
            for i in range(2)]
    a, b = (read_video(r.output, audio=False).frames for r in runs)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].motion.pose, runs[1].motion.pose)
    other = st.audio_to_motion(runs[0].mel_windows, runs[0].source.coeff_3dmm, models, seed=8)
    assert not np.array_equal(runs[0].motion.z, other.z) and not np.allclose(runs[0].motion.pose, other.pose)
    assert runs[0].seed == 7 and st.animate(face, speech, tmp_path / "x.mp4", weights=models, size=SIZE, seed=None,
                                            progress=False).seed is not None


def test_motion_is_seeded_blinks_follow_generate_batch_and_pose_is_smoothed(models) -> None:
    mels = np.random.default_rng(0).standard_normal((48, 80, 16)).astype(np.float32)  # 1.92 s, 48 frames
    src = np.zeros(73, np.float32)
    m1, m2 = (st.audio_to_motion(mels, src, models, seed=3) for _ in range(2))
    for k in ("exp", "pose", "blink", "z"):
        np.testing.assert_array_equal(getattr(m1, k), getattr(m2, k))
    assert m1.z.shape == (len(models.audio2pose.windows(48)), 64) == (2, 64)
    blinks = np.flatnonzero(np.diff(np.r_[0, m1.blink > 0, 0]) == 1)
    assert len(blinks) >= 1
    for b in blinks:  # 5-frame blinks [.5, .9, 1, .9, .5]
        np.testing.assert_allclose(m1.blink[b:b + 5], [0.5, 0.9, 1.0, 0.9, 0.5])
    assert not st.audio_to_motion(mels[:24], src, models, seed=3, still=True).blink.any()
    np.testing.assert_allclose(m1.pose, nets.smooth_pose(m1.pose_raw[None])[0], atol=1e-6)
    np.testing.assert_array_equal(m1.pose_raw[0], src[64:70])  # frame 0 is the reference pose
    # a reference pose video adds its motion relative to its first frame
    ref = np.zeros((10, 73), np.float32)
    ref[:, 64] = np.arange(10) * 0.01
    m3 = st.audio_to_motion(mels, src, models, seed=3, ref_pose=ref)
    np.testing.assert_allclose(m3.pose[:, 0] - m1.pose[:, 0], np.resize(np.arange(10) * 0.01, 48), atol=1e-6)
    np.testing.assert_array_equal(m3.exp, m1.exp)
    assert st.blink_sequence(20, np.random.default_rng(0)).sum() == 0
    assert st.blink_sequence(21, np.random.default_rng(0)).sum() == 0  # official draw range is empty: no crash


def test_short_clips_pad_the_pose_window_as_audio2pose_test(models) -> None:
    """T - 1 < 32: the official pads the audio embeddings at the front with the first one."""
    t = 12
    mels = torch.from_numpy(np.random.default_rng(1).standard_normal((1, t, 1, 80, 16)).astype(np.float32))
    ref = torch.zeros(1, t, 70)
    gen = torch.Generator().manual_seed(0)
    pose, z = st._pose(models, mels, ref, 5, gen)
    net = models.audio2pose
    with torch.no_grad():  # Audio2Pose.test, remainder branch, transcribed
        emb = net.audio_encoder(mels[:, 1:])
        emb = torch.cat([emb[:, :1].repeat(1, 32 - emb.shape[1], 1), emb], 1)
        motion = net.netG.test(z[0], torch.tensor([5]), ref[:, 0, -6:], emb)[:, -(t - 1):]
    want = ref[:, :1, -6:] + torch.cat([torch.zeros(1, 1, 6), motion], 1)
    torch.testing.assert_close(pose, want, rtol=1e-5, atol=1e-5)
    assert st._pose(models, mels[:, :1], ref[:, :1], 5, gen)[0].shape == (1, 1, 6)


def test_a_batch_that_runs_out_of_memory_is_halved(models, face, tmp_path: Path) -> None:
    renderer = ShiftRenderer(oom_above=1)
    m = st.SadTalkerModels(models.face_3drecon, models.audio2exp, models.audio2pose, models.kp_extractor, renderer,
                           models.mapping)
    r = st.animate(face, (tone(0.3), 16000), tmp_path / "o.mp4", weights=m, size=SIZE, batch_size=4, progress=False)
    assert r.batch_size == 1 and probe(r.output).n_frames == r.n_frames == 7 and renderer.calls[:3] == [4, 2, 1]


def test_a_video_is_animated_from_its_first_frame_and_can_drive_pose_and_blinks(models, tmp_path: Path) -> None:
    from thglib.io import write_video
    from thglib.samples import moving_portrait

    clip = write_video(tmp_path / "clip.mp4", moving_portrait("grace_hopper", n_frames=3, size=224), 25.0)
    r = st.animate(clip, (tone(0.3), 16000), tmp_path / "o.mp4", weights=models, size=SIZE, ref_pose=clip,
                   ref_blink=clip, progress=False)
    assert any("first frame" in n for n in r.notes) and r.source.image.shape == (224, 224, 3)
    ref = st.reference_coefficients(clip, models, size=SIZE)
    assert ref.shape == (3, 73) and np.isfinite(ref).all()
    assert not r.motion.blink.any()  # a reference for the blinks replaces the random ones
    with pytest.raises(BadInputError, match="also an input"):
        st.animate(clip, (tone(0.3), 16000), clip, weights=models, size=SIZE, overwrite=True)


# --------------------------------------------------------------------------- the real renderer
class Spy(nn.Module):
    """Records what the wrapped network is called with and what it returns."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, source_image, kp_driving, kp_source):
        out = self.net(source_image, kp_driving=kp_driving, kp_source=kp_source)
        self.seen.append((source_image, kp_driving, kp_source, out))
        return out


@torch.no_grad()
def test_render_feeds_the_real_renderer_as_make_animation_does(models, face) -> None:
    spy = Spy(st._untrained("generator", "cpu"))
    real = st.SadTalkerModels(models.face_3drecon, models.audio2exp, models.audio2pose, models.kp_extractor, spy,
                              models.mapping)
    source = st.prepare_source(face, real, size=SIZE)
    motion = st.audio_to_motion(st.mel_windows(tone(0.3))[:1], source.coeff_3dmm, real, seed=0)
    targets = st.target_coefficients(motion, source.coeff_3dmm, "crop")
    stages = st.RenderStages(np.zeros((15, 3)), np.zeros((15, 3)))
    frames = np.stack(list(st.render(source, targets, real, "crop", stages=stages)))
    stages = stages.stacked()
    # make_animation.py for frame 0, with the official tensors built by hand
    img = torch.from_numpy(source.crop / 255.0).float().permute(2, 0, 1)[None]
    sem = torch.from_numpy(source.coeff_3dmm[:70]).float()[None, :, None].repeat(1, 1, 27)
    kp_c = real.kp_extractor(img)
    kp_s = nets.keypoint_transformation(kp_c, real.mapping["crop"](sem))["value"]
    tgt = torch.from_numpy(targets[[0] * 27].T.copy())[None]
    kp_d = nets.keypoint_transformation(kp_c, real.mapping["crop"](tgt))["value"]
    (src_in, d_in, s_in, out), = spy.seen
    torch.testing.assert_close(src_in, img, rtol=0, atol=1e-7)
    torch.testing.assert_close(d_in, kp_d, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(s_in, kp_s, rtol=1e-5, atol=1e-6)
    want = np.rint(out["prediction"][0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert frames.shape == (1, SIZE, SIZE, 3) and out["prediction"].shape == (1, 3, SIZE, SIZE)
    np.testing.assert_array_equal(frames[0], want)
    np.testing.assert_allclose(stages.kp_driving[0], kp_d[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(stages.occlusion[0], out["occlusion_map"][0, 0].numpy(), atol=2e-3)
    np.testing.assert_allclose(stages.kp_source, kp_s[0].numpy(), atol=1e-6)


# --------------------------------------------------------------------------- pipeline constants
def test_mel_windows_are_generate_batch_windows() -> None:
    k = np.arange(32000)
    t = k / 16000
    wav = (0.5 * np.sin(2 * np.pi * (120 + 400 * t) * t) + 0.1 * np.sin(2 * np.pi * 1800 * t)).astype(np.float32)
    m = st.mel_windows(wav)
    golden = FIXTURE["audio"]["indiv_mels_example (make_golden.py 2 s chirp, 50 frames)"]
    assert list(m.shape) == golden["shape"]
    flat = m.astype(np.float64).ravel()
    assert abs(flat.mean() - golden["mean"]) < 1e-4 and abs(np.abs(flat).sum() - golden["abs_sum"]) < 1e-3 * golden["abs_sum"]
    for i, v in golden["samples"].items():
        assert abs(flat[int(i)] - v) < 1e-4
    starts = [int(80 * ((i - 2) / 25)) for i in range(6)]
    assert starts == FIXTURE["audio"]["window_starts_example_first_6"]
    assert len(st.mel_windows(wav[:3200 + 639])) == 5


def test_semantic_windows_and_targets_follow_generate_facerender_batch() -> None:
    g = (2 * np.arange(5)[:, None] + np.arange(2)[None]).astype(np.float32)  # g[f, c] = 2f + c
    ex = FIXTURE["facerender_batch"]["window_example"]
    np.testing.assert_array_equal(st.semantic_windows(g)[0, 0], ex["transform_semantic_target(g, 0, 13)[0]"])
    motion = st.MotionCoefficients(exp=np.ones((4, 64), np.float32), pose_raw=np.zeros((4, 6), np.float32),
                                   pose=np.full((4, 6), 2, np.float32), blink=np.zeros(4, np.float32),
                                   z=np.zeros((0, 64)), pose_style=0, seed=0)
    src = np.arange(73, dtype=np.float32)
    crop = st.target_coefficients(motion, src, "crop", expression_scale=1.5)
    assert crop.shape == (4, 70) and (crop[:, :64] == 1.5).all() and (crop[:, 64:] == 2).all()
    full = st.target_coefficients(motion, src, "full")
    assert full.shape == (4, 73) and (full[:, 70:] == src[70:]).all() and (full[:, 64:70] == 2).all()
    still = st.target_coefficients(motion, src, "still")
    assert (still[:, 64:] == src[64:]).all() and (still[:, :64] == 1).all()


def test_align_img_matches_the_fixture() -> None:
    p = FIXTURE["preprocess"]
    ex = p["align_img_example"]
    lm3d = np.array(p["lm3d_template_68x3 (similarity_Lm3D_all.mat 'lm', float32)"], np.float32)
    np.testing.assert_allclose(sc.LM3D_STD, p["lm3d_std_5x3 (load_lm3d)"], atol=1e-7)
    np.testing.assert_allclose(sc.extract_5p(lm3d), sc.LM3D_STD, atol=1e-6)
    j = np.arange(256 * 256 * 3)
    img = np.round(255 * (0.5 + 0.5 * np.sin(0.013 * j + 0.4))).astype(np.uint8).reshape(256, 256, 3)
    lm = np.stack([128 + 80 * lm3d[:, 0], 140 - 80 * lm3d[:, 1]], axis=1).astype(np.float32)
    lm[:, 1] = 255 - lm[:, 1]
    trans, aligned, lm_new = sc.align_img(img, lm)
    np.testing.assert_allclose(trans, ex["trans_params_float32"], rtol=1e-6)
    flat = aligned.astype(np.float64).ravel()
    assert aligned.shape == (224, 224, 3) and flat.sum() == ex["aligned_image_uint8"]["abs_sum"]
    assert all(flat[int(i)] == v for i, v in ex["aligned_image_uint8"]["samples"].items())
    assert all(abs(lm_new.ravel()[int(i)] - v) < 1e-3 for i, v in ex["lm_new"]["samples"].items())


def test_crop_geometry_is_the_ffhq_square_and_shrinks_huge_faces(face) -> None:
    from thglib.pipelines.faces import main_face

    fit = main_face(face)
    g = sc.align_face(fit.points, (face.shape[1], face.shape[0]))
    x0, y0, x1, y1 = g.box
    assert g.shrink == 0 and 0 <= x0 < x1 <= face.shape[1] and 0 <= y0 < y1 <= face.shape[0]
    crop = sc.cut_face(face, g, 256)
    mapped = sc.crop_landmarks(fit.points, g, 256)
    eyes = (mapped[36:42].mean(0) + mapped[42:48].mean(0)) / 2
    assert crop.shape == (256, 256, 3) and 90 < eyes[0] < 166 and 60 < eyes[1] < 150
    big = sc.align_face(fit.points * 30, (face.shape[1] * 30, face.shape[0] * 30))  # a 7200 px wide photo
    assert big.shrink > 1 and big.rsize[0] == int(np.rint(face.shape[1] * 30 / big.shrink))
    np.testing.assert_allclose(np.array(big.box) / 30, g.box, atol=2.0)


# --------------------------------------------------------------------------- weights
def test_without_weights_the_error_names_the_option_unless_untrained_is_allowed(face, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match="allow_untrained=True") as e:
        st.animate(face, (tone(0.3), 16000), tmp_path / "o.mp4", size=SIZE)
    assert "SadTalker_V0.0.2_256.safetensors" in str(e.value) and "weights=" in str(e.value)
    with pytest.warns(UntrainedWeightsWarning, match="UNTRAINED"):
        m = st.load_models("sadtalker_256", modes=("crop", "still"), allow_untrained=True)
    assert set(m.mapping) == {"crop", "full"} and "mapping_full" in m.untrained and "UNTRAINED" in m.caveat
    with pytest.raises(BadInputError, match="weights"):
        st.load_models("sadtalker_1024")


@torch.no_grad()
def test_a_written_checkpoints_folder_loads_strictly_through_the_safetensors_path(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from thglib import weights as registry

    filled = {n: st._untrained(n, "cpu") for n in st._NETS}
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    save_file({f"{p}.{k}": v.contiguous() for p, net in filled.items() for k, v in net.state_dict().items()},
              str(folder / nets.SAFETENSORS_FILE))
    for kind in ("crop", "full"):
        torch.save({"mapping": st._untrained(f"mapping_{kind}", "cpu").state_dict(), "epoch": 1},
                   folder / nets.MAPPING_FILES[kind])
    m = st.load_models(folder, modes=("crop", "full"))
    assert m.caveat is None and "SadTalker_V0.0.2_256.safetensors" in m.description
    for n in ("generator", "kp_extractor", "face_3drecon"):
        got, want = getattr(m, n).state_dict(), filled[n].state_dict()
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    assert torch.equal(m.mapping["full"].first[0].weight, st._untrained("mapping_full", "cpu").first[0].weight)
    # the registry checks the format of a copy the user has
    assert registry.fetch("sadtalker_256", path=folder / nets.SAFETENSORS_FILE) == folder / nets.SAFETENSORS_FILE
    junk = tmp_path / "SadTalker_V0.0.2_256.safetensors"
    junk.write_text("<html>sign in</html>")
    with pytest.raises(BadInputError, match="web page"):
        registry.fetch("sadtalker_256", path=junk)
    assert registry.fetch("sadtalker_mapping_crop", path=folder / nets.MAPPING_FILES["crop"]).is_file()


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_typed_errors_naming_the_input(models, face, tmp_path: Path) -> None:
    speech = (tone(0.3), 16000)
    with pytest.raises(NoFaceError, match="image array"):
        st.animate(np.full((200, 200, 3), 128, np.uint8), speech, tmp_path / "a.mp4", weights=models, size=SIZE)
    with pytest.raises(BadInputError, match="silent"):
        st.animate(face, (np.zeros(8000, np.float32), 16000), tmp_path / "b.mp4", weights=models, size=SIZE)
    with pytest.raises(BadInputError, match="at least 0.2 s"):
        st.animate(face, (tone(0.1), 16000), tmp_path / "c.mp4", weights=models, size=SIZE)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(MediaError, match="broken.png"):
        st.animate(broken, speech, tmp_path / "d.mp4", weights=models, size=SIZE)
    with pytest.raises(MediaError, match="absent.wav"):
        st.animate(face, tmp_path / "absent.wav", tmp_path / "e.mp4", weights=models, size=SIZE)
    for kwargs, name in [({"mode": "zoom"}, "mode"), ({"size": 200}, "size"), ({"pose_style": 46}, "pose_style"),
                         ({"expression_scale": float("nan")}, "expression_scale"), ({"seed": -1}, "seed"),
                         ({"batch_size": 0}, "batch_size"), ({"fp16": True, "device": "cpu"}, "fp16"),
                         ({"several": "all"}, "several"), ({"blink": "yes"}, "blink")]:
        with pytest.raises(BadInputError) as e:
            st.animate(tmp_path / "absent.png", tmp_path / "absent.wav", tmp_path / "f.mp4", **kwargs)
        assert e.value.what == name and e.value.fix, kwargs
    assert not list(tmp_path.glob("*.mp4"))


def test_several_faces_animate_the_largest_with_a_note_or_refuse(models, face, tmp_path: Path) -> None:
    from thglib.face import detect_faces

    small = cv2.resize(portrait("grace_hopper"), (100, 118), interpolation=cv2.INTER_AREA)
    two = np.full((256, 380, 3), 200, np.uint8)
    two[:, :240] = face
    two[60:178, 262:362] = small
    boxes = detect_faces(two)
    assert len(boxes) == 2 and boxes[0].x1 < 240 < boxes[1].x0  # the astronaut's face is the larger
    r = st.animate(two, (tone(0.24), 16000), tmp_path / "two.mp4", weights=models, size=SIZE, progress=False)
    assert r.source.face.n_faces == 2 and any("2 faces" in n and "largest" in n for n in r.notes)
    np.testing.assert_allclose(r.source.face.box.as_array(), boxes[0].as_array())
    with pytest.raises(BadInputError, match="2 faces") as e:
        st.animate(two, (tone(0.24), 16000), tmp_path / "no.mp4", weights=models, size=SIZE, several="refuse")
    assert e.value.what == "image array" and "several='largest'" in e.value.fix


# --------------------------------------------------------------------------- command line
def test_thg_sadtalker_runs_and_reports_the_caveat(models, face, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(st, "load_models", lambda *a, **k: models)
    img = tmp_path / "face.png"
    cv2.imwrite(str(img), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    wav = save_audio(tmp_path / "a.wav", tone(0.3), 16000)
    out = tmp_path / "o.mp4"
    assert main(["sadtalker", "--face", str(img), "--audio", str(wav), "--out", str(out), "--mode", "full",
                 "--size", str(SIZE), "--seed", "3", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert probe(out).n_frames == 7 and "mode full" in cap.out and "seed 3" in cap.out
    assert "thg sadtalker: warning: UNTRAINED" in cap.err
    assert main(["sadtalker", "--face", str(img), "--audio", str(wav), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "overwrite=True" not in err
    with pytest.raises(SystemExit) as e:
        main(["sadtalker", "--face", str(img), "--audio", str(wav), "--out", str(out), "--pose-style", "46"])
    assert e.value.code == 2 and "--pose-style" in capsys.readouterr().err


def test_thg_sadtalker_without_weights_names_the_flags(face, tmp_path: Path, capsys) -> None:
    img = tmp_path / "face.png"
    cv2.imwrite(str(img), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    wav = save_audio(tmp_path / "a.wav", tone(0.3), 16000)
    assert main(["sadtalker", "--face", str(img), "--audio", str(wav), "--out", str(tmp_path / "o.mp4")]) == 1
    err = capsys.readouterr().err
    assert "--weights" in err and "--allow-untrained" in err and "sadtalker_256" in err
    assert main(["sadtalker", "--face", str(tmp_path / "none.png"), "--audio", str(wav), "--out",
                 str(tmp_path / "p.mp4")]) == 1
    assert "none.png" in capsys.readouterr().err


def test_batch_runner_returns_dicts_of_tensors() -> None:
    r = BatchRunner(lambda x: {"a": x * 2, "b": x[:, :1]}, batch_size=3)
    out = r(torch.arange(8.0).reshape(4, 2))
    assert out["a"].shape == (4, 2) and out["b"].shape == (4, 1) and out["a"][3, 1] == 14


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_autocast_on_cuda_renders_close_to_fp32(models, face) -> None:
    real = st.SadTalkerModels(models.face_3drecon, models.audio2exp, models.audio2pose, models.kp_extractor,
                              st._untrained("generator", "cpu"), models.mapping)
    real = st.load_models(real, modes=("crop",), device="cuda")
    source = st.prepare_source(face, real, size=256, device="cuda")
    motion = st.audio_to_motion(st.mel_windows(tone(0.4)), source.coeff_3dmm, real, seed=0, device="cuda")
    targets = st.target_coefficients(motion, source.coeff_3dmm, "crop")
    f32 = np.stack(list(st.render(source, targets, real, "crop", batch_size=4, device="cuda")))
    f16 = np.stack(list(st.render(source, targets, real, "crop", batch_size=4, device="cuda", fp16=True)))
    assert f16.shape == f32.shape == (len(targets), 256, 256, 3)
    assert np.abs(f16.astype(int) - f32).mean() < 3
    real.to("cpu")
