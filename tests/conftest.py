"""Shared test configuration: headless plotting, offline by default, repo root on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("THG_OFFLINE", "1")
os.environ.setdefault("THG_HEADLESS", "1")  # notebooks run without a frontend (thglib.book.interact)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
