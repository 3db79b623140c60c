"""Model registry and download cache for every pretrained network thglib uses.

One table, :data:`REGISTRY`, lists each downloadable file: where it officially lives, how big
it is and its SHA-256 where those are known, its licence and paper, and which thglib code
reads it.  :func:`fetch` turns a registry name into a verified local file:

1. a file the user already has (``path=``) wins, but is still checked against the known hash;
2. otherwise a valid copy in the cache (``$THG_HOME/weights``, default
   ``platformdirs.user_cache_dir("thglib")/weights``) is returned without touching the network;
3. otherwise the file is streamed to a temporary file *in the cache directory*, checked
   (length, size, SHA-256) and only then moved into place with :func:`os.replace`, so a
   partial or wrong download is never left behind nor used.

``$THG_OFFLINE=1`` forbids step 3; every failure raises :class:`~thglib.errors.WeightsUnavailable`
whose message names the URL, the expected path and how to place the file by hand.

Hash convention (torch.hub, ``torch/hub.py`` ``HASH_REGEX``): a file named ``stem-<hex>.ext``
(e.g. ``s3fd-619a316812.pth``) carries the first hex digits of its own SHA-256.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import pickle
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .errors import BadInputError, MediaError, WeightsUnavailable

if TYPE_CHECKING:
    import pandas as pd
    import torch

__all__ = [
    "ModelCard",
    "REGISTRY",
    "card",
    "cache_dir",
    "path_for",
    "fetch",
    "load_state_dict",
    "registry_table",
    "describe",
    "sha256_of",
]

#: torch.hub's file-name hash convention ``name-<sha256 prefix>.ext`` (at least 6 hex digits).
HASH_PREFIX = re.compile(r"-([a-f0-9]{6,})\.")

_CHUNK = 1 << 20
_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ModelCard:
    """One downloadable model file and what is known about it (unknown facts stay ``None``)."""

    name: str  #: registry key, e.g. ``"wav2lip_gan"``
    filename: str  #: file name in the cache
    urls: tuple[str, ...]  #: official URL first, then hash-verified mirrors
    sha256: str | None  #: full hex SHA-256 of the file, if known
    size: int | None  #: size in bytes, if known
    licence: str
    paper: str  #: title of the paper that introduced the weights
    arxiv: str | None  #: arXiv id of that paper
    used_by: tuple[str, ...]  #: thglib code that loads the file
    source: str  #: where the URL is documented
    manual: str = ""  #: how to obtain the file by hand when the URL fails
    notes: str = ""

    @property
    def url(self) -> str | None:
        """The official URL (first of :attr:`urls`)."""
        return self.urls[0] if self.urls else None

    @property
    def hash_prefix(self) -> str | None:
        """SHA-256 prefix carried by a torch.hub-style file name, e.g. ``619a316812``."""
        m = HASH_PREFIX.search(self.filename)
        return m.group(1) if m else None

    @property
    def expected_hash(self) -> str | None:
        """Full SHA-256 if known, else the file-name prefix, else ``None``."""
        return self.sha256 or self.hash_prefix


_W2L_PAPER = "A Lip Sync Expert Is All You Need for Speech to Lip Generation In the Wild"
_W2L_LICENCE = "non-commercial research/personal use only (Rudrabha/Wav2Lip README; trained on LRS2)"
# The README's OneDrive share ids, in the direct-download form used by the repo's own
# scripts/download_models.sh.  IIIT revoked that OneDrive in April 2025 (Rudrabha/Wav2Lip#739:
# "The weights were in a IIIT paid one drive which was revoked recently"); the replacement links
# were reported broken again (#748 for the expert, #752 for wav2lip_gan.pth, July 2025).
_W2L_ONEDRIVE = ("https://iiitaphyd-my.sharepoint.com/personal/radrabha_m_research_iiit_ac_in/"
                 "_layouts/15/download.aspx?share=")
_W2L_MANUAL = ("The official OneDrive links were revoked in 2025 (Rudrabha/Wav2Lip issues #739, "
               "#748, #752). The README also lists a Google Drive folder: "
               "https://drive.google.com/drive/folders/1I-0dNLfFOSFwrfqjNa-SXuwaURHE5K4k")
_W2L_SOURCE = "Rudrabha/Wav2Lip README.md 'Getting the weights'"


def _mini_card(name: str, sha256: str, size: int, what: str,
               used_by: tuple[str, ...] = ("thglib.models.mini_lipsync.load_mini",)) -> ModelCard:
    """A mini lip-sync checkpoint made by this project (scripts/train_mini_lipsync.py), shipped in data/models/."""
    filename = f"mini_lipsync_{name}.safetensors"
    return ModelCard(
        name=f"mini_lipsync_{name}", filename=filename,
        urls=(f"https://raw.githubusercontent.com/thg-book/thg-book/main/data/models/{filename}",),
        sha256=sha256, size=size, licence="MIT (thg-book; trained on THG-Synth clips only)",
        paper=f"thg-book: mini Wav2Lip, {what}", arxiv=None, used_by=used_by,
        source="thg-book data/models/ (this repository)",
        manual="Or train it: python scripts/train_mini_lipsync.py (or thg train)",
        notes="Trained on two portraits and eSpeak NG speech; labelled 'mini Wav2Lip', never Wav2Lip's numbers.",
    )


REGISTRY: tuple[ModelCard, ...] = (
    ModelCard(
        name="wav2lip", filename="wav2lip.pth",
        urls=(_W2L_ONEDRIVE + "Eb3LEzbfuKlJiR600lQWRxgBIY27JZg80f7V9jtMfbNDaQ",),
        sha256=None, size=None, licence=_W2L_LICENCE, paper=_W2L_PAPER, arxiv="2008.10010",
        used_by=("thglib.lipsync.lipsync",), source=_W2L_SOURCE, manual=_W2L_MANUAL,
        notes="Generator without the visual-quality GAN loss: better sync, blurrier mouth. "
              "Checkpoint dict {'state_dict': {'module.…': …}, 'optimizer': …, 'global_step': …}.",
    ),
    ModelCard(
        name="wav2lip_gan", filename="wav2lip_gan.pth",
        # Official link (README), then one mirror.  The mirror is justified only because the
        # SHA-256 below is pinned.  It is not published by the authors: several independent
        # projects record it (and 435,801,865 B) for their copies, one as that HF file's LFS etag.
        urls=(_W2L_ONEDRIVE + "EdjI7bZlgApMqsVoEUUXpLsBxqXbn5z8VTmoxp55YNDcIA",
              "https://huggingface.co/numz/wav2lip_studio/resolve/main/Wav2lip/wav2lip_gan.pth"),
        sha256="ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8", size=435801865,
        licence=_W2L_LICENCE, paper=_W2L_PAPER, arxiv="2008.10010",
        used_by=("thglib.lipsync.lipsync",), source=_W2L_SOURCE + "; scripts/download_models.sh",
        manual=_W2L_MANUAL, notes="Generator trained with the visual-quality discriminator.",
    ),
    ModelCard(
        name="wav2lip_expert", filename="lipsync_expert.pth",
        urls=(_W2L_ONEDRIVE + "EQRvmiZg-HRAjvI6zqN9eTEBP74KefynCwPWVmF57l-AYA",),
        sha256=None, size=None, licence=_W2L_LICENCE, paper=_W2L_PAPER, arxiv="2008.10010",
        used_by=("thglib.lipsync.expert_sync_confidence",), source=_W2L_SOURCE, manual=_W2L_MANUAL,
        notes="Expert lip-sync discriminator (models/syncnet.py SyncNet_color), frozen while "
              "training Wav2Lip.",
    ),
    ModelCard(
        name="wav2lip_visual_quality_disc", filename="visual_quality_disc.pth",
        urls=(_W2L_ONEDRIVE + "EQVqH88dTm1HjlK11eNba5gBbn15WMS0B0EZbDBttqrqkg",),
        sha256=None, size=None, licence=_W2L_LICENCE, paper=_W2L_PAPER, arxiv="2008.10010",
        used_by=("thglib.models.wav2lip.VisualQualityDiscriminator",), source=_W2L_SOURCE, manual=_W2L_MANUAL,
        notes="Wav2Lip_disc_qual from models/wav2lip.py (added to the README in 2024).",
    ),
    ModelCard(
        name="syncnet_v2", filename="syncnet_v2.model",
        # joonson/syncnet_python download_model.sh uses http:// on the same host that it reaches
        # over https:// for sfd_face.pth; we use https.  SHA-256: also the content-addressed
        # folder name of JaesungHuh/voxconverse_pipeline's copy on Hugging Face.
        urls=("https://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model",),
        sha256="961e8696f888fce4f3f3a6c3d5b3267cf5b343100b238e79b2659bff2c605442", size=54573114,
        licence="MIT (code, joonson/syncnet_python); no separate licence stated for the weights",
        paper="Out of time: automated lip sync in the wild (ACCV 2016 workshops)", arxiv=None,
        used_by=("thglib.metrics.sync.lse",), source="joonson/syncnet_python download_model.sh",
        notes="SyncNet used for LSE-D / LSE-C (SyncNetModel.py class S).",
    ),
    ModelCard(
        name="hopenet_robust_alpha1", filename="hopenet_robust_alpha1.pkl",
        # README link "300W-LP, alpha 1, robust to image quality" (drive.google.com/open?id=…),
        # written in Drive's direct-download form.  Drive may answer with a confirmation page,
        # which fetch() detects and reports.
        urls=("https://drive.google.com/uc?export=download&id=1m25PrSE7g9D2q2XJVMR6IA7RaCvWSzCR",),
        sha256=None, size=None, licence="Apache-2.0 (natanielruiz/deep-head-pose repository)",
        paper="Fine-Grained Head Pose Estimation Without Keypoints", arxiv="1710.00925",
        used_by=("thglib.face.pose.hopenet_pose",), source="natanielruiz/deep-head-pose README.md",
        manual="Open https://drive.google.com/open?id=1m25PrSE7g9D2q2XJVMR6IA7RaCvWSzCR in a browser.",
        notes="Hopenet (ResNet-50, 66 bins per angle) trained on 300W-LP with blur/downsampling.",
    ),
    ModelCard(
        name="fid_inception", filename="pt_inception-2015-12-05-6726825d.pth",
        urls=("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
              "pt_inception-2015-12-05-6726825d.pth",),
        sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", size=95628359,
        licence="Apache-2.0 (pytorch-fid; port of TensorFlow's inception-2015-12-05)",
        paper="Rethinking the Inception Architecture for Computer Vision", arxiv="1512.00567",
        used_by=("thglib.metrics.distribution.fid", "thglib.metrics.extractors.InceptionV3Features"), source="pytorch-fid src/pytorch_fid/inception.py FID_WEIGHTS_URL",
        notes="The TF-FID Inception-v3 (1008 classes); FID: Heusel et al. 2017, arXiv:1706.08500.",
    ),
    ModelCard(
        name="lpips_alex_backbone", filename="alexnet-owt-7be5be79.pth",
        urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
        sha256="7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", size=244408911,
        licence="BSD-3-Clause (torchvision)",
        paper="One weird trick for parallelizing convolutional neural networks", arxiv="1404.5997",
        used_by=("thglib.metrics.perceptual.lpips",), source="torchvision AlexNet_Weights.IMAGENET1K_V1.url",
        notes="ImageNet backbone of LPIPS-alex (Zhang et al. 2018, arXiv:1801.03924); the LPIPS "
              "linear heads ship inside the lpips wheel.",
    ),
    ModelCard(
        name="lpips_vgg_backbone", filename="vgg16-397923af.pth",
        urls=("https://download.pytorch.org/models/vgg16-397923af.pth",),
        sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0", size=553433881,
        licence="BSD-3-Clause (torchvision)",
        paper="Very Deep Convolutional Networks for Large-Scale Image Recognition", arxiv="1409.1556",
        used_by=("thglib.metrics.perceptual.lpips",), source="torchvision VGG16_Weights.IMAGENET1K_V1.url",
        notes="ImageNet backbone of LPIPS-vgg (Zhang et al. 2018, arXiv:1801.03924).",
    ),
    ModelCard(
        name="s3fd", filename="s3fd-619a316812.pth",
        urls=("https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",),
        sha256="619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543", size=89843225,
        licence="BSD-3-Clause (1adrianb/face-alignment repository)",
        paper="S3FD: Single Shot Scale-invariant Face Detector", arxiv="1708.05237",
        used_by=("thglib.face.detection.detect_faces",),
        source="face-alignment face_alignment/detection/sfd/sfd_detector.py; Wav2Lip README",
        notes="The detector Wav2Lip expects at face_detection/detection/sfd/s3fd.pth.",
    ),
    ModelCard(
        name="2dfan4", filename="2DFAN4-11f355bf06.pth.tar",
        urls=("https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar",),
        sha256="11f355bf0693120222f5955ce3f9dc8fb5763ebb30a47d7906e509490d32e4aa", size=None,
        licence="BSD-3-Clause (1adrianb/face-alignment repository)",
        paper="How far are we from solving the 2D & 3D Face Alignment problem? "
              "(and a dataset of 230,000 3D facial landmarks)", arxiv="1703.07332",
        used_by=("thglib.face.landmarking.landmarks",), source="face-alignment 1.5.0 face_alignment/api.py models_urls",
        notes="Plain state_dict of FAN(4), 68 landmarks. face-alignment 1.3-1.4 used a TorchScript "
              "archive instead (2DFAN4-cd938726ad.zip), which is a different file.",
    ),
    ModelCard(
        name="buffalo_l", filename="buffalo_l.zip",
        urls=("https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",),
        sha256="80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f", size=288621354,
        licence="non-commercial research only (InsightFace pretrained models; code is MIT)",
        paper="ArcFace: Additive Angular Margin Loss for Deep Face Recognition", arxiv="1801.07698",
        used_by=("thglib.face.identity.identity_embedding",),
        source="insightface python-package insightface/utils/storage.py BASE_REPO_URL (v0.7)",
        notes="Zip of five ONNX models: det_10g (SCRFD, arXiv:2105.04714), w600k_r50 (ArcFace), "
              "2d106det, 1k3d68, genderage. fetch() returns the zip; unpack it yourself.",
    ),
    ModelCard(
        name="sync_expert_thgsynth", filename="sync_expert_thgsynth.pt",
        # Made by this project (scripts/train_sync_expert.py) and shipped in its repository.
        urls=("https://raw.githubusercontent.com/thg-book/thg-book/main/data/models/sync_expert_thgsynth.pt",),
        sha256="1e5e447530277c322673356ea52011f871a15da80973086ba936aa4e6bb9026a", size=563505,
        licence="MIT (thg-book; trained on THG-Synth clips only)",
        paper="thg-book: a SyncNet-style expert trained on THG-Synth", arxiv=None,
        used_by=("thglib.models.sync_expert.load_sync_expert", "thglib.metrics.sync.lse"),
        source="thg-book data/models/ (this repository)",
        manual="Or train it: python scripts/train_sync_expert.py",
        notes="Offline stand-in for SyncNet v2: its numbers are labelled '(THG-Synth expert)'.",
    ),
    _mini_card("expert", "e28e3a8d4fa4b2f4bc89c7606be2ced3d3e71ca5f2cefdea12e8805ac98d896f", 2803232,
               "lip-sync expert the sync loss uses",
               used_by=("thglib.models.mini_lipsync.load_mini", "thglib.lipsync.load_expert")),
    _mini_card("l1_s0", "7acabaa2ac36e604ef8f009bbdd2b464fa22bbb3fba7f2bb5719a53ee4f569cb", 4983198,
               "generator of the 'l1' configuration, seed 0"),
    _mini_card("l1_sync_s0", "49c6891dc5cfb003f49319356fa5509873d46c2600e1c8a092bc0d0fb7ac89f7", 4983198,
               "generator of the 'l1_sync' configuration, seed 0"),
    _mini_card("wav2lip_recipe_s0", "8db593fd4d7bd99eef1104ab0ae40022241999c61abb19dbcacae6038fa31f00", 4983206,
               "generator of the 'wav2lip_recipe' configuration, seed 0",
               used_by=("thglib.models.mini_lipsync.load_mini", "thglib.lipsync.load_generator")),
    _mini_card("recipe_perceptual_s0", "d9ace0eac9b76399a13988efa4e891a049a8eec48aa4872dbceabf931f7d4003", 4983214,
               "generator of the 'recipe_perceptual' configuration, seed 0"),
    _mini_card("recipe_temporal_s0", "273974b2af1f8f91199d8a1668465b84948c10ad8097b9537081da84a1564e4a", 4983206,
               "generator of the 'recipe_temporal' configuration, seed 0"),
    ModelCard(
        name="vgg19", filename="vgg19-dcbb9e9d.pth",
        urls=("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",),
        sha256=None, size=None, licence="BSD-3-Clause (torchvision)",
        paper="Very Deep Convolutional Networks for Large-Scale Image Recognition", arxiv="1409.1556",
        used_by=("thglib.losses.perceptual.VGG19Features",), source="torchvision VGG19_Weights.IMAGENET1K_V1.url",
        notes="ImageNet VGG19 behind the perceptual losses (FOMM, PC-AVS, vid2vid). Only the SHA-256 prefix "
              "in the file name (dcbb9e9d, torch.hub convention) is pinned; the full digest is not recorded yet.",
    ),
    # SadTalker (OpenTalker/SadTalker scripts/download_models.sh, release v0.0.2-rc). No checksum or byte
    # size is published anywhere (repository, README, release notes), so only the format is checked;
    # record the SHA-256 printed by notebooks/demos/sadtalker.ipynb in Colab here once a copy is verified.
    ModelCard(
        name="sadtalker_256", filename="SadTalker_V0.0.2_256.safetensors",
        urls=("https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/SadTalker_V0.0.2_256.safetensors",),
        sha256=None, size=None,
        licence="the OpenTalker/SadTalker repository's licence (MIT in its 2023 versions: check the current "
                "LICENSE); no separate terms for the weights",
        paper="SadTalker: Learning Realistic 3D Motion Coefficients for Stylized Audio-Driven Single Image Talking "
              "Face Animation", arxiv="2211.12194",
        used_by=("thglib.pipelines.sadtalker.load_models",),
        source="OpenTalker/SadTalker scripts/download_models.sh (release v0.0.2-rc)",
        manual="Mirrors without a pinned hash (used only by hand, with path=): the README's Google Drive / Baidu "
               "links and the Hugging Face repository vinthony/SadTalker-V002rc (checkpoints/).",
        notes="One safetensors file, five networks by key prefix (kp_extractor, generator, audio2exp, audio2pose, "
              "face_3drecon; 1305 keys, ~725 MB of float32) for the 256x256 renderer. No size or hash is published: "
              "the safetensors header is checked.",
    ),
    ModelCard(
        name="sadtalker_512", filename="SadTalker_V0.0.2_512.safetensors",
        urls=("https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/SadTalker_V0.0.2_512.safetensors",),
        sha256=None, size=None,
        licence="the OpenTalker/SadTalker repository's licence (MIT in its 2023 versions: check the current "
                "LICENSE); no separate terms for the weights",
        paper="SadTalker: Learning Realistic 3D Motion Coefficients for Stylized Audio-Driven Single Image Talking "
              "Face Animation", arxiv="2211.12194",
        used_by=("thglib.pipelines.sadtalker.load_models",),
        source="OpenTalker/SadTalker scripts/download_models.sh (release v0.0.2-rc)",
        manual="Mirrors without a pinned hash (used only by hand, with path=): the Hugging Face repository "
               "vinthony/SadTalker-V002rc (checkpoints/).",
        notes="The same five networks and keys as sadtalker_256, trained for the 512x512 renderer (--size 512).",
    ),
    ModelCard(
        name="sadtalker_mapping_crop", filename="mapping_00229-model.pth.tar",
        urls=("https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/mapping_00229-model.pth.tar",),
        sha256=None, size=None,
        licence="the OpenTalker/SadTalker repository's licence (MIT in its 2023 versions: check the current "
                "LICENSE); no separate terms for the weights",
        paper="SadTalker: Learning Realistic 3D Motion Coefficients for Stylized Audio-Driven Single Image Talking "
              "Face Animation", arxiv="2211.12194",
        used_by=("thglib.pipelines.sadtalker.load_models", "thglib.models.sadtalker.load_mapping"),
        source="OpenTalker/SadTalker scripts/download_models.sh (release v0.0.2-rc)",
        manual="Also in the Hugging Face repository vinthony/SadTalker-V002rc (checkpoints/), unpinned.",
        notes="MappingNet for the crop modes (70 coefficients; src/config/facerender.yaml); checkpoint dict "
              "{'mapping': state_dict, 'epoch': ...}.",
    ),
    ModelCard(
        name="sadtalker_mapping_full", filename="mapping_00109-model.pth.tar",
        urls=("https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/mapping_00109-model.pth.tar",),
        sha256=None, size=None,
        licence="the OpenTalker/SadTalker repository's licence (MIT in its 2023 versions: check the current "
                "LICENSE); no separate terms for the weights",
        paper="SadTalker: Learning Realistic 3D Motion Coefficients for Stylized Audio-Driven Single Image Talking "
              "Face Animation", arxiv="2211.12194",
        used_by=("thglib.pipelines.sadtalker.load_models", "thglib.models.sadtalker.load_mapping"),
        source="OpenTalker/SadTalker scripts/download_models.sh (release v0.0.2-rc)",
        manual="Also in the Hugging Face repository vinthony/SadTalker-V002rc (checkpoints/), unpinned.",
        notes="MappingNet for the full / still modes (73 coefficients: + the crop's scale and shift; "
              "src/config/facerender_still.yaml); checkpoint dict {'mapping': state_dict, 'epoch': ...}.",
    ),
    # THEval's image-quality metrics through pyiqa (thglib.metrics.iqa; optional extra thglib[iqa]). URLs and file
    # names as pyiqa 0.1.16 builds them: pyiqa/archs/arch_util.py get_url_from_name (Hugging Face repository
    # chaofengc/IQA-PyTorch-Weights; store_base="github": release v0.1-weights) with the names of
    # default_model_urls in pyiqa/archs/topiq_arch.py and musiq_arch.py. No full SHA-256 is published: the
    # torch.hub-style prefix in each name is verified. Licence: pyiqa's PolyForm-Noncommercial-1.0.0.
    *(ModelCard(
        name=name, filename=filename,
        urls=(f"https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/{filename}",
              f"https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/{filename}"),
        sha256=None, size=None, licence="PolyForm-Noncommercial-1.0.0 (pyiqa / chaofengc/IQA-PyTorch)",
        paper=paper, arxiv=arxiv, used_by=("thglib.metrics.iqa." + fn,),
        source=f"pyiqa 0.1.16 {src} default_model_urls; pyiqa/archs/arch_util.py get_url_from_name",
        notes=notes,
    ) for name, filename, paper, arxiv, fn, src, notes in (
        ("pyiqa_topiq_iaa", "cfanet_iaa_ava_swin-393b41b4.pth",
         "TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality Assessment", "2308.03060",
         "global_aesthetic", "pyiqa/archs/topiq_arch.py",
         "pyiqa metric 'topiq_iaa': CFANet on a Swin-B backbone, trained on AVA aesthetics (scores 1-10); "
         "THEval's Global aesthetic (Video_Quality/global_aesthetic.py)."),
        ("pyiqa_musiq_koniq", "musiq_koniq_ckpt-e95806b9.pth",
         "MUSIQ: Multi-scale Image Quality Transformer", "2108.05997", "mouth_quality", "pyiqa/archs/musiq_arch.py",
         "pyiqa metric 'musiq' (pretrained='koniq10k'): MUSIQ trained on KonIQ-10k (MOS ~0-100); THEval's Mouth "
         "quality on lip crops (Video_Quality/mouth_quality.py)."),
        ("pyiqa_topiq_nr_face", "topiq_nr_cgfiqa_res50-0a8b8e4f.pth",
         "TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality Assessment", "2308.03060",
         "face_quality", "pyiqa/archs/topiq_arch.py",
         "pyiqa metric 'topiq_nr-face': CFANet on ResNet-50 trained on face IQA data (GFIQA per pyiqa's model "
         "card; the file name says cgfiqa), scores ~0-1; THEval's Face quality (Video_Quality/face_quality.py)."),
    )),
    # facexlib models that pyiqa's topiq_nr-face builds (FaceRestoreHelper: RetinaFace + ParseNet) to find and align
    # the face: URLs from facexlib 0.3.0 detection/__init__.py and parsing/__init__.py. No hash published.
    ModelCard(
        name="facexlib_retinaface_resnet50", filename="detection_Resnet50_Final.pth",
        urls=("https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth",),
        sha256=None, size=None, licence="Apache-2.0 (xinntao/facexlib); port of biubug6/Pytorch_Retinaface (MIT)",
        paper="RetinaFace: Single-stage Dense Face Localisation in the Wild", arxiv="1905.00641",
        used_by=("thglib.metrics.iqa.face_quality",),
        source="facexlib 0.3.0 facexlib/detection/__init__.py init_detection_model('retinaface_resnet50')",
        notes="Face detector inside pyiqa's topiq_nr-face (align_crop_face); only the format is checked.",
    ),
    ModelCard(
        name="facexlib_parsenet", filename="parsing_parsenet.pth",
        urls=("https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth",),
        sha256=None, size=None, licence="Apache-2.0 (xinntao/facexlib repository)",
        paper="facexlib face parsing (ParseNet, 19 classes, 512x512)", arxiv=None,
        used_by=("thglib.metrics.iqa.face_quality",),
        source="facexlib 0.3.0 facexlib/parsing/__init__.py init_parsing_model('parsenet')",
        notes="Face parser that pyiqa's topiq_nr-face constructs (FaceRestoreHelper use_parse=True); format "
              "checked only.",
    ),
)

_BY_NAME: dict[str, ModelCard] = {c.name: c for c in REGISTRY}


class _DownloadFailed(Exception):
    """One URL did not yield a verified file (internal; surfaced as WeightsUnavailable)."""


def card(name: str) -> ModelCard:
    """The :class:`ModelCard` registered under ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_BY_NAME), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise BadInputError("name", f"unknown model '{name}'",
                            f"{hint}Known models: {', '.join(_BY_NAME)}") from None


def cache_dir() -> Path:
    """Weights cache: ``$THG_HOME/weights``, default ``platformdirs.user_cache_dir("thglib")/weights``."""
    home = os.environ.get("THG_HOME")
    if home:
        return Path(home).expanduser() / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("thglib")) / "weights"


def path_for(name: str) -> Path:
    """Where the cached copy of ``name`` lives (whether or not it exists yet)."""
    return cache_dir() / card(name).filename


def _offline() -> bool:
    """``$THG_OFFLINE`` set: never use the network (:func:`thglib.runtime.offline`)."""
    from .runtime import offline

    return offline()


_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, memoised per (path, size, mtime) so a cache hit is hashed once."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


_MAGIC = {"zip": (b"PK\x03\x04",), "torch.save": (b"PK\x03\x04", b"\x80")}  #: first bytes: zip, or zip/pickle


def _not_a_checkpoint(head: bytes) -> str:
    """What a file that should be a checkpoint looks like instead, from its first bytes."""
    text = head.lstrip()[:64].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<")):
        return ("it is a web page (HTML), not the file: a sign-in, error or confirmation page was saved in "
                "its place")
    if text.startswith((b"{", b"[")):
        return "it is a JSON/text document, not a checkpoint"
    if text.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the file itself (run git lfs pull)"
    if not head:
        return "it is empty"
    return f"it does not start like a torch.save checkpoint (zip or pickle); first bytes {head[:8]!r}"


#: Globals a plain state_dict / checkpoint pickle needs (module, name); anything else is checked by
#: ``torch.load(weights_only=True)``, which refuses code without running it.
_PLAIN_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
                  ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_parameter"),
                  ("torch._utils", "_rebuild_parameter_with_state"), ("torch", "Size"), ("torch", "device"),
                  ("torch.serialization", "_get_layout"), ("torch._tensor", "_rebuild_from_type_v2"),
                  ("torch.nn.parameter", "Parameter"), ("_codecs", "encode"), ("builtins", "set")}
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING",
               "STRING"}


def _pickle_globals(f: BinaryIO, limit: int = 5) -> list[tuple[str, str]]:
    """The ``(module, name)`` globals imported by the (at most ``limit``) pickles at the start of ``f``,
    read with :mod:`pickletools` (opcodes only: nothing is unpickled or executed)."""
    import pickletools

    found: list[tuple[str, str]] = []
    for k in range(limit):
        start = f.tell()
        if not f.read(1):
            break
        f.seek(start)
        strings: list[str | None] = []
        memo: dict[int, str | None] = {}
        try:
            for op, arg, _ in pickletools.genops(f):  # stops after STOP
                name = op.name
                if name in _STRING_OPS:
                    strings.append(arg if isinstance(arg, str) else None)
                elif name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                    memo[len(memo) if name == "MEMOIZE" else int(arg)] = strings[-1] if strings else None
                elif name in ("GET", "BINGET", "LONG_BINGET"):
                    strings.append(memo.get(int(arg)))
                elif name in ("GLOBAL", "INST"):
                    mod, _, attr = str(arg).partition(" ")
                    found.append((mod, attr))
                elif name == "STACK_GLOBAL":
                    mod, attr = (strings[-2], strings[-1]) if len(strings) >= 2 else (None, None)
                    found.append((mod or "?", attr or "?"))
                else:
                    strings.append(None)
        except Exception:  # noqa: BLE001 - not pickle data (after the first: the raw storages that follow)
            if k == 0:
                raise
            break
    return found


class _NotCheckpoint(Exception):
    """The file is not a torch.save checkpoint at all (internal)."""


def _imported_globals(path: Path) -> list[str]:
    """``module.name`` of every global the checkpoint's pickle imports, outside :data:`_PLAIN_GLOBALS`
    (opcodes read with :mod:`pickletools`; nothing is unpickled).  Raises :class:`_NotCheckpoint`."""
    import io
    import zipfile

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                pkl = [n for n in z.namelist() if n.endswith("data.pkl")]
                if not pkl:
                    raise _NotCheckpoint("it is a zip archive without data.pkl, so not a torch.save checkpoint")
                used = _pickle_globals(io.BytesIO(z.read(pkl[0])), limit=1)
        else:
            with path.open("rb") as f:
                used = _pickle_globals(f)
    except _NotCheckpoint:
        raise
    except Exception as e:  # noqa: BLE001 - pickletools/zipfile on garbage
        raise _NotCheckpoint(f"it is not valid pickle or zip data (damaged, truncated or another format: "
                             f"{type(e).__name__}: {str(e)[:80]})") from None
    return sorted({f"{m}.{n}" for m, n in used if (m, n) not in _PLAIN_GLOBALS
                   and not (m == "torch" and n.endswith("Storage"))})


_CODE_CHECKED: dict[tuple[str, int, int], str | None] = {}


def _code_problem(path: Path) -> str | None:
    """Why the checkpoint ``path`` is unusable or would run code when unpickled, or ``None`` (memoised per
    file version).  The pickle's opcodes are scanned for the globals it imports; if any is outside
    :data:`_PLAIN_GLOBALS`, the file is tried with ``torch.load(weights_only=True)``, whose restricted
    unpickler refuses code before running it.  Nothing is ever loaded with full pickle.
    """
    import warnings

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _CODE_CHECKED:
        return _CODE_CHECKED[key]
    problem = None
    try:
        unknown = _imported_globals(path)
    except _NotCheckpoint as e:
        problem, unknown = str(e), []
    if unknown:
        import torch

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            problem = (f"it is a pickle that imports {', '.join(unknown[:4])}: loading it would run code, so it "
                       "was refused without being loaded")
        except Exception as e:  # noqa: BLE001
            problem = f"it is not a readable PyTorch checkpoint ({type(e).__name__}: {str(e)[:120]})"
    _CODE_CHECKED[key] = problem
    return problem


def _safetensors_problem(head: bytes, size: int) -> str | None:
    """Why a file is not a safetensors file (8-byte little-endian header length, then a JSON header), or None."""
    n = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
    if len(head) >= 9 and 2 <= n <= size - 8 and head[8:9] == b"{":
        return None
    if not head.startswith(_MAGIC["torch.save"]):
        what = _not_a_checkpoint(head)
        if what.startswith("it does not start like"):
            what = f"it does not start like a safetensors file (header length, then JSON); first bytes {head[:9]!r}"
        return what
    return "it is a torch.save checkpoint, not a safetensors file"


def _problem(path: Path, c: ModelCard) -> str | None:
    """Why ``path`` is not a valid copy of ``c``'s file, or ``None`` when it is: size and SHA-256
    where the registry pins them, and always the file format (torch.save zip or pickle, or zip);
    a checkpoint whose full SHA-256 is not pinned is also scanned for code (:func:`_code_problem`)."""
    size = path.stat().st_size
    kind = "zip" if c.filename.endswith(".zip") else "safetensors" if c.filename.endswith(".safetensors") \
        else "torch.save"
    with path.open("rb") as f:
        head = f.read(64)
    if kind == "safetensors":
        bad = _safetensors_problem(head, size)
        if bad:
            return bad + (f" ({size} bytes)" if c.size is None or size == c.size else f" ({size} bytes, expected {c.size})")
    elif not head.startswith(_MAGIC[kind]):
        what = _not_a_checkpoint(head) if kind == "torch.save" else f"it does not start like a zip file " \
            f"(first bytes {head[:4]!r})"
        return what + (f" ({size} bytes)" if c.size is None or size == c.size else f" ({size} bytes, expected {c.size})")
    if c.size is not None and size != c.size:
        return f"it has {size} bytes, expected {c.size}"
    expected = c.expected_hash
    if expected is not None:
        digest = sha256_of(path)
        if not digest.startswith(expected):
            return f"its SHA-256 is {digest}, expected {expected}{'' if len(expected) == 64 else '…'}"
    if kind == "torch.save" and (c.sha256 is None):
        return _code_problem(path)
    return None


def _check_local(c: ModelCard, path: Path, arg: str = "path") -> Path:
    """Validate a file the user supplied with ``path=`` (the caller's ``arg``); it is never copied nor modified."""
    if path.is_dir():
        raise BadInputError(arg, f"'{path}' is a folder", f"Pass the file itself, e.g. {path / c.filename}")
    if not path.is_file():
        raise BadInputError(arg, f"'{path}' is not a file",
                            f"Pass the location of your copy of {c.filename}")
    problem = _problem(path, c)
    if problem:
        raise BadInputError(arg, f"'{path}' is not the expected {c.filename}: {problem}",
                            f"Re-download it from {c.url} or check that you passed the right file")
    return path


def _stream(url: str, out: BinaryIO, c: ModelCard, progress: bool) -> None:
    """Copy ``url`` into ``out`` with a tqdm bar; fail on HTML pages and short reads."""
    from .runtime import progress as progress_bar

    req = urllib.request.Request(url, headers={"User-Agent": "thglib-weights"})
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as resp:
            if resp.headers.get_content_type() == "text/html":
                raise _DownloadFailed("the server sent a web page, not the file (the link needs a browser)")
            length = resp.headers.get("Content-Length")
            declared = int(length) if length and length.isdigit() else None
            got = 0
            with progress_bar(total=declared or c.size, unit="B", unit_scale=True, unit_divisor=1024,
                              desc=c.filename, show=progress) as bar:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise _DownloadFailed(f"HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise _DownloadFailed(f"network error: {getattr(e, 'reason', e)}") from e
    if declared is not None and got != declared:
        raise _DownloadFailed(f"connection closed after {got} of {declared} bytes")


def _download(url: str, c: ModelCard, target: Path, progress: bool) -> None:
    """Download to a temp file next to ``target``, verify, then ``os.replace`` it into place
    (:func:`thglib.io.atomic_output`: a rejected download never replaces a cached copy)."""
    from .io.video import atomic_output

    with atomic_output(target, overwrite=True) as tmp:
        with tmp.open("wb") as out:
            _stream(url, out, c, progress)
        problem = _problem(tmp, c)
        if problem:
            raise _DownloadFailed(f"the downloaded file was rejected: {problem}")


def fetch(name: str, *, path: str | Path | None = None, progress: bool = True,
          url: str | None = None, arg: str = "path") -> Path:
    """Local path of the verified weights ``name``, downloading them into the cache if needed.

    ``path``: a copy the user already has; it overrides the cache and the network but is still
    checked against the known size/SHA-256.  ``url``: try this URL instead of the registry's.
    ``arg``: the name of the caller's own argument that takes ``path`` (e.g. ``"weights"`` for
    :func:`thglib.metrics.lpips`), so a :class:`~thglib.errors.BadInputError` or
    :class:`WeightsUnavailable` tells the user what *they* can pass.
    Raises :class:`WeightsUnavailable` when the file can be neither found nor downloaded.
    """
    c = card(name)
    if path is not None:
        return _check_local(c, Path(path).expanduser(), arg)
    target = path_for(name)
    stale = ""
    if target.is_file():
        problem = _problem(target, c)
        if problem is None:
            return target
        stale = f"the cached copy is invalid ({problem}); "
    urls = (url,) if url else c.urls
    hint = f" {c.manual}" if c.manual else ""
    if _offline():
        raise WeightsUnavailable(name, urls[0] if urls else None, target,
                                 f"{stale}$THG_OFFLINE is set, so no download was tried.{hint}", arg=arg)
    reasons = []
    for u in urls:
        try:
            _download(u, c, target, progress)
            return target
        except _DownloadFailed as e:
            reasons.append(f"{u}: {e}")
    raise WeightsUnavailable(name, urls[0] if urls else None, target,
                             stale + "download failed: " + "; ".join(reasons) + "." + hint, arg=arg)


def _resolve(name_or_path: str | Path) -> Path:
    """A registry name goes through :func:`fetch`; anything else must be an existing file."""
    if isinstance(name_or_path, str) and name_or_path in _BY_NAME:
        return fetch(name_or_path)
    p = Path(name_or_path).expanduser()
    if not p.is_file():
        raise BadInputError("name_or_path", f"'{name_or_path}' is neither a registered model nor a file",
                            f"Use one of {', '.join(_BY_NAME)} or the path of a checkpoint")
    return p


def load_state_dict(name_or_path: str | Path, *, strip_prefix: str | None = "module.",
                    map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load a state_dict safely with ``torch.load(weights_only=True)`` (no arbitrary unpickling).

    Accepts a plain state_dict or a checkpoint ``{"state_dict": {...}, ...}`` (the Wav2Lip format);
    ``strip_prefix`` (``"module."`` from ``nn.DataParallel``) is removed only when *every* key has it.
    """
    import torch

    p = _resolve(name_or_path)
    with p.open("rb") as f:
        head = f.read(64)
    if not head.startswith(_MAGIC["torch.save"]):  # not a checkpoint at all: say so, before any unpickling
        raise MediaError(p, f"is not a PyTorch checkpoint: {_not_a_checkpoint(head)}",
                         "Download the real file again (a browser may be needed for links that answer with a "
                         "page), or pass the path of a .pth/.pt checkpoint")
    try:
        unknown = _imported_globals(p)
    except _NotCheckpoint as e:
        raise MediaError(p, f"is not a readable PyTorch checkpoint: {e}",
                         "Download or export the file again and check its size") from None
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e).strip()
        if "weights only" not in msg.lower() and "weights_only" not in msg.lower():
            raise MediaError(p, f"is not a readable PyTorch checkpoint (damaged or truncated: "
                             f"{msg.splitlines()[0] if msg else type(e).__name__})",
                             "Download or export the file again and check its size") from None
        what = f" (it imports {', '.join(unknown[:4])})" if unknown else ""
        raise MediaError(p, f"holds objects other than tensors{what}, so torch.load(weights_only=True) refused it "
                         "without running them (loading it fully could execute code)",
                         "Use a checkpoint from the official source, or re-save just the tensors where you trust "
                         "the file: torch.save(model.state_dict(), 'clean.pth')") from None
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        raise MediaError(p, f"not a readable PyTorch checkpoint ({type(e).__name__}: {str(e)[:200]})",
                         "Check that the download is complete and the file is a .pth/.pt") from None
    sd = obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj
    if not isinstance(sd, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()):
        raise MediaError(p, "does not hold a state_dict (a mapping of names to tensors)",
                         "Pass a checkpoint saved with torch.save(model.state_dict(), path)")
    if strip_prefix and sd and all(k.startswith(strip_prefix) for k in sd):
        sd = {k[len(strip_prefix):]: v for k, v in sd.items()}
    return dict(sd)


def registry_table() -> pd.DataFrame:
    """The registry as a DataFrame (one row per model), for the book's appendix."""
    import pandas as pd

    rows = []
    for c in REGISTRY:
        row = asdict(c)
        row["url"] = c.url
        row["mirrors"] = ", ".join(c.urls[1:])
        row["size_MB"] = None if c.size is None else round(c.size / 1e6, 1)
        row["used_by"] = ", ".join(c.used_by)
        del row["urls"], row["size"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def describe(name: str) -> str:
    """A few readable lines about one model: file, source, check values, licence, paper, cache."""
    c = card(name)
    size = "unknown" if c.size is None else f"{c.size:,} bytes"
    arxiv = f" (arXiv:{c.arxiv})" if c.arxiv else ""
    lines = [
        f"{c.name}: {c.filename}",
        f"  url:      {c.url}",
        *(f"  mirror:   {m}" for m in c.urls[1:]),
        f"  source:   {c.source}",
        f"  size:     {size}",
        f"  sha256:   {c.expected_hash or 'unknown'}",
        f"  licence:  {c.licence}",
        f"  paper:    {c.paper}{arxiv}",
        f"  used by:  {', '.join(c.used_by)}",
        f"  cache:    {path_for(name)}",
    ]
    if c.notes:
        lines.append(f"  notes:    {c.notes}")
    if c.manual:
        lines.append(f"  by hand:  {c.manual}")
    return "\n".join(lines)
