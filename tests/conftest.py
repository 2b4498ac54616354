"""Shared test set-up: quiet TensorFlow, quick mode, and the data mirror when one is beside us."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("WORKSHOP_QUICK", "1")
_shared = Path(__file__).resolve().parents[1].parent / "shared" / "workshop-data"
if not os.environ.get("WORKSHOP_DATA_MIRROR") and _shared.is_dir():
    os.environ["WORKSHOP_DATA_MIRROR"] = str(_shared)
