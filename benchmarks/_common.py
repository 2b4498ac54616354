"""What every benchmark script sets up first: the repository on sys.path, quiet TensorFlow,
the build machines' data mirror as default, and a CPU-time clock."""

import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_shared = ROOT.parent / "shared" / "workshop-data"
if not os.environ.get("WORKSHOP_DATA_MIRROR") and _shared.is_dir():
    os.environ["WORKSHOP_DATA_MIRROR"] = str(_shared)


def cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_mb() -> float:
    """Peak resident memory of this process in MB (``ru_maxrss``, Linux: KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
