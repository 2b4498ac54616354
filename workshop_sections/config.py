"""The backend of the shared config cell, the first code cell of every notebook
(``workshop_sections.tools.notebooks.CONFIG_CELL``; on Colab it installs this package first)::

    from workshop_sections import config
    cfg = config.setup()

Environment switches (all optional):

``WORKSHOP_DEVICE``    ``auto`` (default: GPU if there is one, else CPU), ``cpu`` or ``gpu``
                       (a GPU asked for and absent is an error, never a silent fallback).
``WORKSHOP_QUICK``     ``1`` shrinks data and steps so every notebook runs in seconds (CI).
``WORKSHOP_SEED``      the one seed for Python, NumPy and TensorFlow (default 42).
``WORKSHOP_ROOT``      the repository root (default: found from this file or the cwd).
``WORKSHOP_DATA_DIR``  the download cache (default ``<root>/data``).
``WORKSHOP_ARTIFACTS`` what sections hand on to later ones (default ``<root>/artifacts``).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import logging
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 42
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class DeviceError(RuntimeError):
    """The device asked for with WORKSHOP_DEVICE is not there (or the value is unknown)."""


def _env_flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not understood: use 1 (on) or 0 (off).")


def is_quick() -> bool:
    """Quick mode (``WORKSHOP_QUICK=1``): small data, few steps. Off by default."""
    return _env_flag("WORKSHOP_QUICK")


def choose_device(gpus: Sequence[str], requested: str | None = "auto") -> str:
    """Pick the device string from the GPUs TensorFlow sees.

    ``gpus`` are the names of the visible physical GPUs (injected in tests), ``requested``
    is ``auto``, ``cpu`` or ``gpu`` (also ``gpu:N`` for the N-th GPU).
    """
    req = (requested or "auto").strip().lower()
    n = len(gpus)
    if req == "cpu":
        return "/CPU:0"
    if req == "auto":
        return "/GPU:0" if n else "/CPU:0"
    if req == "gpu" or req.startswith("gpu:"):
        index = 0
        if ":" in req:
            try:
                index = int(req.split(":", 1)[1])
            except ValueError:
                raise DeviceError(
                    f"WORKSHOP_DEVICE={requested!r}: the GPU index must be a number, e.g. gpu:0."
                ) from None
        if n == 0:
            raise DeviceError(
                "WORKSHOP_DEVICE asks for a GPU but TensorFlow sees none. "
                "Unset WORKSHOP_DEVICE (or set it to cpu or auto) to run on the CPU, "
                "or install a GPU build of TensorFlow with working drivers "
                "(check with: python -c "
                "\"import tensorflow as tf; print(tf.config.list_physical_devices('GPU'))\")."
            )
        if index >= n:
            raise DeviceError(
                f"WORKSHOP_DEVICE={requested!r}: TensorFlow sees only {n} GPU(s) (gpu:0 to gpu:{n - 1})."
            )
        return f"/GPU:{index}"
    raise DeviceError(f"WORKSHOP_DEVICE={requested!r} is not understood: use cpu, gpu, gpu:N or auto.")


def find_root() -> Path:
    """The repository root: WORKSHOP_ROOT, else the checkout this package lives in, else the cwd."""
    env = os.environ.get("WORKSHOP_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "workshop_sections").is_dir():
        return here
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "workshop_sections").is_dir():
            return candidate
    return cwd


def data_dir(root: Path | None = None) -> Path:
    env = os.environ.get("WORKSHOP_DATA_DIR")
    return Path(env).expanduser().resolve() if env else (root or find_root()) / "data"


ATTENDEE_FOLDERS = ("exercises", "my-work")


def attendee_artifacts(root: Path, cwd: Path | None = None) -> Path | None:
    """``<root>/my-work/artifacts`` when the notebook runs from an exercise copy (its folder is
    ``exercises/`` or ``my-work/``), else None: an attendee's half-solved run must never replace
    what the solution notebooks (``make run``) wrote for the later sections."""
    cwd = Path(cwd or Path.cwd()).resolve()
    for folder in ATTENDEE_FOLDERS:
        base = (Path(root) / folder).resolve()
        if cwd == base or base in cwd.parents:
            return Path(root) / "my-work" / "artifacts"
    return None


def artifacts_dir(root: Path | None = None) -> Path:
    """Where the sections keep what they hand on: ``$WORKSHOP_ARTIFACTS`` if set, else
    ``<root>/artifacts``. A relative ``WORKSHOP_ARTIFACTS`` is taken from the repository root,
    not from the current folder: a notebook's kernel starts in the notebook's own folder, so
    ``WORKSHOP_ARTIFACTS=build/test-artifacts`` means the same folder for every section."""
    root = Path(root or find_root())
    env = os.environ.get("WORKSHOP_ARTIFACTS")
    if not env:
        return root / "artifacts"
    path = Path(env).expanduser()
    return (path if path.is_absolute() else root / path).resolve()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (Keras included) with one number."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np  # noqa: PLC0415 (config is imported before make setup: by the doctor)

    np.random.seed(seed)
    import tensorflow as tf  # noqa: PLC0415 (idem: importing config must not import TensorFlow)

    tf.keras.utils.set_random_seed(seed)  # seeds python, numpy and tf together


# Lines TensorFlow's C++ core writes to stderr at import, before its log level applies.
IMPORT_NOISE = ("oneDNN custom operations are on", "All log messages before absl::InitializeLog()")
# what quiet_tensorflow(lean=True) keeps from importing: Keras as a whole (TensorFlow's own import
# loads ``keras.src.optimizers`` eagerly, in a try that lets an ImportError pass; ``tf.keras``
# still loads on first use) and the scikit-learn and matplotlib it would pull in (optional to it)
LEAN_HIDDEN = ("keras.src.optimizers", "sklearn", "matplotlib")


def quiet_tensorflow(lean: bool = False) -> None:
    """Silence TensorFlow's start-up noise, and import it if that has not happened yet.

    oneDNN stays on: turning it off (``TF_ENABLE_ONEDNN_OPTS=0``, the usual way to lose its
    start-up line) made the text CNN's epochs 2.4x slower on CPU (58 s against 24 s for 2
    epochs of CNN-rand on one core). Its line is written to stderr before the log level
    applies, so the import runs with stderr caught and every other line passed on.

    ``lean``: for a command line that does not use Keras (the word2vec CLI). TensorFlow 2.21
    imports Keras at once (``keras.src.optimizers``, 0.3 s), and Keras imports scikit-learn and
    SciPy for ``keras.wrappers.SKLearnClassifier``/``SKLearnRegressor`` (0.6 s of a 3.9 s import
    here) and ``matplotlib.pyplot`` for ``keras.visualization`` (0.3 s). With this flag none of
    them is imported (``LEAN_HIDDEN``); ``tf.keras``, scikit-learn and matplotlib still import
    normally afterwards, when first used."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="tensorflow")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules:
        hidden = [name for name in LEAN_HIDDEN if name not in sys.modules] if lean else []
        for name in hidden:
            sys.modules[name] = None  # `import name` raises ImportError, which Keras handles
        try:
            _import_without_noise("tensorflow")
        finally:
            for name in hidden:
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]
        # TensorFlow's import leaves ~370,000 Python objects: at exit the interpreter's last
        # garbage collections walked them for 1.0-1.2 s of every command line. Frozen at exit
        # (atexit handlers run before the modules are torn down), they are skipped: 0.1 s.
        # Not at import: gc.freeze() would also keep whatever garbage the user has by then.
        atexit.register(gc.freeze)


def _import_without_noise(module: str, noise: Sequence[str] = IMPORT_NOISE) -> None:
    """Import ``module`` with file descriptor 2 caught; write back every line except ``noise``
    (everything, if the import fails, so no error message is ever lost)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: import plainly
        importlib.import_module(module)
        return
    failed = False  # an interrupt (Ctrl-C) is no failure to explain: its noise stays hidden
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            importlib.import_module(module)
        except Exception:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = lines if failed else [ln for ln in lines if not any(n in ln for n in noise)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


@dataclass
class Config:
    """What the shared config cell hands to the notebook."""

    device: str
    quick: bool
    seed: int
    root: Path
    data_dir: Path
    artifacts_dir: Path
    tf_version: str
    gpus: list = field(default_factory=list)

    def artifacts(self, section: str) -> Path:
        """``artifacts/<section>/``, created if needed."""
        path = self.artifacts_dir / section
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pick(self, full, quick):
        """``quick`` in quick mode, ``full`` otherwise (sizes and step counts)."""
        return quick if self.quick else full

    def summary(self) -> str:
        try:
            data = os.path.relpath(self.data_dir)
            data = data if not data.startswith("..") else str(self.data_dir)
            data = data if data.startswith(("/", ".")) else "./" + data
        except ValueError:
            data = str(self.data_dir)
        line = (
            f"TensorFlow {self.tf_version} | device {self.device} | "
            f"quick mode {'on' if self.quick else 'off'} | data {data}"
        )
        if self.artifacts_dir.resolve() != (self.root / "artifacts").resolve():
            try:
                shown = self.artifacts_dir.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                shown = str(self.artifacts_dir)
            line += f" | artifacts {shown}"
        return line


_CURRENT: Config | None = None


def setup(seed: int | None = None, verbose: bool = True, gpus: Iterable[str] | None = None) -> Config:
    """Device, memory growth, seeds, quick mode, paths, quiet start-up; prints one line.

    Safe to re-run: a second call re-seeds and prints the same line.
    ``gpus`` injects a list of GPU names (tests); by default TensorFlow is asked.
    """
    global _CURRENT
    quiet_tensorflow()
    import tensorflow as tf  # noqa: PLC0415 (importing config must not import TensorFlow)

    tf.get_logger().setLevel(logging.ERROR)
    if gpus is None:
        physical = tf.config.list_physical_devices("GPU")
        for gpu in physical:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass  # already initialised (cell re-run): growth was set the first time
        gpu_names = [g.name for g in physical]
    else:
        gpu_names = list(gpus)
    device = choose_device(gpu_names, os.environ.get("WORKSHOP_DEVICE", "auto"))
    if seed is None:
        seed = int(os.environ.get("WORKSHOP_SEED", DEFAULT_SEED))
    seed_everything(seed)
    root = find_root()
    mine = attendee_artifacts(root)
    if mine is not None and not os.environ.get("WORKSHOP_ARTIFACTS"):
        os.environ["WORKSHOP_ARTIFACTS"] = str(mine)  # the helper modules' defaults follow it too
    cfg = Config(
        device=device,
        quick=is_quick(),
        seed=seed,
        root=root,
        data_dir=data_dir(root),
        artifacts_dir=artifacts_dir(root),
        tf_version=tf.__version__,
        gpus=gpu_names,
    )
    _CURRENT = cfg
    if verbose:
        print(cfg.summary())
    return cfg


def current() -> Config:
    """The Config of the last ``setup()`` (runs ``setup(verbose=False)`` if there was none)."""
    return _CURRENT if _CURRENT is not None else setup(verbose=False)


def tensorboard_command(log_dir, root=None, port: int = 6006) -> str:
    """The one way the workshop writes the command that shows ``log_dir`` in TensorBoard.

    TensorBoard listens on this machine only (``--host 127.0.0.1``). With ``root`` (the
    repository root, ``cfg.root``) a ``log_dir`` inside it is given relative to it, for a
    terminal opened there; otherwise the path is absolute. ``port``: TensorBoard's default 6006.
    Returns the command as one string, e.g. ``tensorboard --logdir artifacts/x/logs --host
    127.0.0.1 --port 6006``.
    """
    shown = Path(log_dir)
    if root is not None:
        try:
            shown = shown.resolve().relative_to(Path(root).resolve())
        except ValueError:
            shown = shown.resolve()  # outside the repository: the absolute path
    else:
        shown = shown.resolve()
    return f"tensorboard --logdir {shown} --host 127.0.0.1 --port {port}"


def write_json(path: Path, obj: dict) -> Path:
    """Write ``obj`` to ``path`` as indented JSON, atomically (a temporary file, then a rename: a
    reader never sees half a file); NumPy scalars become floats at the top level. Any nesting."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: (float(v) if hasattr(v, "dtype") else v) for k, v in obj.items()}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(clean, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def write_metrics(section: str, metrics: dict, artifacts: Path | None = None) -> Path:
    """Write ``artifacts/<section>/metrics.json`` (the headline figures ``make run`` prints): one
    flat object of numbers, booleans, strings or None. TypeError for a list or dict value (join a
    list of corpora into one string, as ``"movie_reviews+news20"``), before anything is written."""
    nested = sorted(k for k, v in metrics.items() if isinstance(v, (list, tuple, dict, set)))
    if nested:
        raise TypeError(
            f"metrics for {section}: {', '.join(map(repr, nested))} must be a number, boolean, string or "
            "None, not a list or dict (metrics.json is flat: join a list into one string)."
        )
    return write_json((Path(artifacts) if artifacts else artifacts_dir()) / section / "metrics.json", metrics)


def read_metrics(section: str, artifacts: Path | None = None) -> dict | None:
    path = (Path(artifacts) if artifacts else artifacts_dir()) / section / "metrics.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


if __name__ == "__main__":  # python -m workshop_sections.config
    setup()
    sys.exit(0)


# --------------------------------------------------------------------------- progress bars
def progress(iterable=None, **kwargs):
    """The workshop's one progress bar: a tqdm bar (``tqdm.auto``: a widget in a notebook, a
    text bar in a terminal) with tqdm's arguments, or, when the output is neither a notebook nor
    a terminal (a log file, a pipe, CI), a :class:`PlainProgress` that writes a few plain lines
    (start, every 25%, the end) instead of carriage-return redraws that garble a log."""
    stream = kwargs.get("file") or sys.stderr
    in_kernel = _in_notebook_kernel()
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if kwargs.get("disable") or in_kernel or terminal:
        with warnings.catch_warnings():  # "IProgress not found" without ipywidgets: the text bar is fine
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm  # noqa: PLC0415 (config is imported before make setup installs tqdm)
        return tqdm(iterable, **kwargs)
    return PlainProgress(iterable, **kwargs)


def _in_notebook_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (where tqdm draws a widget)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:  # noqa: BLE001 - no IPython shell at all
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class PlainProgress:
    """A tqdm look-alike for logs: ``update``, ``set_postfix``, ``write``, ``close``, iteration and
    ``with``; prints ``desc: 50% (1,500/3,000 step) in 12.3 s, loss=0.41`` at 0, 25, 50, 75 and
    100% (or every ``every`` units when the total is unknown), one line each, no ``\\r``."""

    def __init__(self, iterable=None, total=None, desc=None, unit="it", file=None, every=None, **_ignored):
        self.iterable, self.desc, self.unit = iterable, desc or "progress", unit
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.file = total, 0, file or sys.stderr
        self.every = every
        self.postfix = ""
        self._clock = time.perf_counter
        self._start = self._clock()
        self._next_mark = 0.0
        self._closed = False
        self._say()

    def _say(self) -> None:
        secs = self._clock() - self._start
        if self.total:
            done = f"{self.n:,.0f}/{self.total:,.0f} {self.unit}"
            head = f"{self.desc}: {100 * self.n / self.total:3.0f}% ({done})"
        else:
            head = f"{self.desc}: {self.n:,.0f} {self.unit}"
        tail = f", {self.postfix}" if self.postfix else ""
        self._said = (self.n, self.postfix)
        print(f"{head} in {secs:.1f} s{tail}", file=self.file, flush=True)

    def update(self, n=1) -> None:
        self.n += n
        if self.total:
            mark = min(int(4 * self.n / self.total) / 4, 0.75)  # the quarter just passed (100% is close's)
            if mark > self._next_mark:
                self._next_mark = mark
                self._say()
        elif self.every and self.n >= self._next_mark + self.every:
            self._next_mark = self.n - self.n % self.every
            self._say()

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc=None, refresh=True) -> None:
        self.desc = desc or self.desc

    def write(self, text: str) -> None:
        print(text, file=self.file, flush=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if (self.n, self.postfix) != self._said:  # the last line is not already the final one
                self._say()

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
