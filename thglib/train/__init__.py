"""Training a mini lip-sync model on THG-Synth: data, the expert, the generator loop, the ablation metrics.

* :mod:`~thglib.train.data` — THG-Synth clips cut as the Wav2Lip pipeline cuts them (96² crops, mel
  windows, exact landmarks), cached, and Wav2Lip-style training windows;
* :mod:`~thglib.train.expert` — the lip-sync expert the sync loss uses (Wav2Lip ``color_syncnet_train.py``);
* :mod:`~thglib.train.loop` — the generator loop with the Wav2Lip recipe's knobs, resumable;
* :mod:`~thglib.train.evaluate` — held-out metrics with exact ground truth and two sync scorers.

``thg train`` (:mod:`~thglib.train.cli`) and ``scripts/train_mini_lipsync.py`` drive them.
"""

from __future__ import annotations

__all__: list[str] = []
