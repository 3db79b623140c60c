"""Media I/O: video through the ffmpeg bundled with ``imageio-ffmpeg``, audio through soundfile,
soxr and ffmpeg, and notebook display helpers that embed media in the page.

>>> from thglib.io import read_video, write_video, load_audio
"""

from __future__ import annotations

from .audio import load_audio, resample, save_audio, to_float32, to_mono
from .display import show_audio, show_video, show_videos
from .video import Clip, VideoInfo, ffmpeg_exe, iter_frames, mux_audio, probe, read_video, write_video

__all__ = [
    "Clip",
    "VideoInfo",
    "probe",
    "read_video",
    "iter_frames",
    "write_video",
    "mux_audio",
    "ffmpeg_exe",
    "load_audio",
    "save_audio",
    "resample",
    "to_mono",
    "to_float32",
    "show_video",
    "show_videos",
    "show_audio",
]
