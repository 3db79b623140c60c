"""Generation pipelines: one face (image or video) plus speech in, a talking-head MP4 out.

* :mod:`thglib.lipsync` — Wav2Lip (lip sync of an existing video or photo);
* :mod:`thglib.pipelines.sadtalker` — SadTalker (a single portrait animated with expression, blinks
  and head motion), with :mod:`~thglib.pipelines.sadtalker_crop` (its FFHQ-style crop and the
  224² alignment of the 3DMM regressor) and :mod:`~thglib.pipelines.sadtalker_cli` (``thg sadtalker``).

What they share lives here, so both read their inputs, batch, paste back and write the same way:

* :mod:`~thglib.pipelines.media` — opening the face media and the speech, the output path, stage clocks;
* :mod:`~thglib.pipelines.faces` — the main face of an image (largest, or refuse several);
* :mod:`~thglib.pipelines.batching` — :class:`~thglib.pipelines.batching.BatchRunner`, batches that
  halve on CUDA out-of-memory, fp16 autocast;
* :mod:`~thglib.pipelines.paste` — paste-back: into a box (Wav2Lip), Poisson-blended (SadTalker ``full``);
* :mod:`~thglib.pipelines.mux` — H.264 + AAC, with a metadata tag and a corner mark on untrained results.

Submodules are imported on use (``from thglib.pipelines import sadtalker``).
"""

from __future__ import annotations

__all__ = ["batching", "faces", "media", "mux", "paste", "sadtalker", "sadtalker_crop", "sadtalker_cli"]
