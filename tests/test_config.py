import os
import random

import numpy as np
import pytest

from workshop_sections import config


@pytest.mark.parametrize(
    "gpus, requested, expected",
    [
        ([], "auto", "/CPU:0"),
        (["/physical_device:GPU:0"], "auto", "/GPU:0"),
        (["/physical_device:GPU:0", "/physical_device:GPU:1"], "auto", "/GPU:0"),
        (["/physical_device:GPU:0", "/physical_device:GPU:1"], "gpu:1", "/GPU:1"),
        (["/physical_device:GPU:0"], "cpu", "/CPU:0"),
        (["/physical_device:GPU:0"], "GPU", "/GPU:0"),
        ([], None, "/CPU:0"),
    ],
)
def test_choose_device(gpus, requested, expected):
    assert config.choose_device(gpus, requested) == expected


def test_gpu_asked_for_and_absent_is_a_clear_error():
    with pytest.raises(config.DeviceError, match="asks for a GPU but TensorFlow sees none"):
        config.choose_device([], "gpu")


def test_gpu_index_out_of_range_and_unknown_value():
    with pytest.raises(config.DeviceError, match="only 2 GPU"):
        config.choose_device(["a", "b"], "gpu:2")
    with pytest.raises(config.DeviceError, match="not understood"):
        config.choose_device([], "tpu")


def test_setup_uses_injected_devices(monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_DEVICE", "auto")
    cfg = config.setup(gpus=["/physical_device:GPU:0"])
    assert cfg.device == "/GPU:0"
    monkeypatch.setenv("WORKSHOP_DEVICE", "gpu")
    with pytest.raises(config.DeviceError):
        config.setup(gpus=[])
    monkeypatch.setenv("WORKSHOP_DEVICE", "cpu")
    cfg = config.setup(gpus=["/physical_device:GPU:0", "/physical_device:GPU:1"])
    assert cfg.device == "/CPU:0"


def test_setup_prints_one_summary_line(monkeypatch, capsys):
    monkeypatch.delenv("WORKSHOP_DEVICE", raising=False)
    monkeypatch.setenv("WORKSHOP_QUICK", "1")
    cfg = config.setup()
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"TensorFlow {cfg.tf_version} | device /CPU:0 | quick mode on | data ")
    assert cfg.quick is True
    assert cfg.pick(100, 5) == 5


def _draws():
    import tensorflow as tf

    return (random.random(), np.random.rand(3).tolist(), tf.random.uniform([3]).numpy().tolist())


def test_same_seed_same_draws():
    config.setup(seed=7, verbose=False)
    first = _draws()
    config.setup(seed=7, verbose=False)
    second = _draws()
    config.setup(seed=8, verbose=False)
    third = _draws()
    assert first == second
    assert first[1] != third[1] and first[2] != third[2]


def test_quick_flag_parsing(monkeypatch):
    monkeypatch.setenv("WORKSHOP_QUICK", "0")
    assert config.is_quick() is False
    monkeypatch.setenv("WORKSHOP_QUICK", "yes")
    assert config.is_quick() is True
    monkeypatch.setenv("WORKSHOP_QUICK", "maybe")
    with pytest.raises(ValueError, match="WORKSHOP_QUICK"):
        config.is_quick()


def test_paths_follow_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("WORKSHOP_ARTIFACTS", str(tmp_path / "a"))
    cfg = config.setup(verbose=False)
    assert cfg.data_dir == tmp_path / "d"
    assert cfg.artifacts("mnist_softmax") == tmp_path / "a" / "mnist_softmax"
    assert (tmp_path / "a" / "mnist_softmax").is_dir()
    assert (config.find_root() / "workshop_sections" / "config.py").exists()


def test_metrics_round_trip(tmp_path):
    path = config.write_metrics("demo", {"accuracy": np.float32(0.925), "steps": 10}, artifacts=tmp_path)
    assert path == tmp_path / "demo" / "metrics.json"
    got = config.read_metrics("demo", artifacts=tmp_path)
    assert got["steps"] == 10 and abs(got["accuracy"] - 0.925) < 1e-6
    assert config.read_metrics("missing", artifacts=tmp_path) is None


def test_metrics_with_a_list_or_dict_value_are_refused_before_anything_is_written(tmp_path):
    """[A2] at the source: a nested value (intro's full mode once wrote its two corpora as a list,
    which only a `make test` after `make run` caught) is a TypeError naming the key; the file
    already there stays as it was."""
    config.write_metrics("demo", {"corpus": "movie_reviews+news20", "steps": 10}, artifacts=tmp_path)
    for bad in (["movie_reviews", "news20"], {"a": 1}, ("x",)):
        with pytest.raises(TypeError, match="'corpus'.*join a list into one string"):
            config.write_metrics("demo", {"corpus": bad, "steps": 11}, artifacts=tmp_path)
    assert config.read_metrics("demo", artifacts=tmp_path) == {"corpus": "movie_reviews+news20", "steps": 10}


def test_tensorflow_import_drops_only_the_known_start_up_noise(tmp_path):
    """The oneDNN line is dropped (oneDNN itself stays on); any other stderr line survives."""
    import subprocess
    import sys

    (tmp_path / "noisy_mod.py").write_text(
        "import os\nos.write(2, b'I0000 port.cc:153] oneDNN custom operations are on. You may see...\\n')\n"
        "os.write(2, b'a real warning\\n')\n"
    )
    (tmp_path / "broken_mod.py").write_text(
        "import os\nos.write(2, b'oneDNN custom operations are on\\n')\nraise RuntimeError('boom')\n"
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from workshop_sections import config\n"
        "config._import_without_noise('noisy_mod')\n"
        "try:\n    config._import_without_noise('broken_mod')\n"
        "except RuntimeError as e:\n    print('raised', e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "raised boom" in r.stdout
    assert r.stderr.count("a real warning") == 1
    assert r.stderr.count("oneDNN") == 1  # only from the failed import, written back whole
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from workshop_sections import config; config.quiet_tensorflow();"
            "import os, tensorflow as tf; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"},
    )
    assert r.returncode == 0, r.stderr
    assert "oneDNN" not in r.stderr and "absl::InitializeLog" not in r.stderr
    assert r.stdout.strip() == "None"  # we do not switch oneDNN off


# --------------------------------------------------------------------------- progress bars
def test_progress_in_a_log_is_a_few_plain_lines():
    import io

    log = io.StringIO()  # not a terminal, not a notebook: what `make run > log` and CI see
    bar = config.progress(total=1000, desc="download", unit="B", file=log)
    for _ in range(100):
        bar.update(10)
    bar.set_postfix(loss="0.41")
    bar.close()
    bar.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 5, lines  # 0, 25, 50, 75, 100 %
    assert lines[0].startswith("download:   0% (0/1,000 B)") and lines[-1].startswith(
        "download: 100% (1,000/1,000 B)"
    )
    assert lines[-1].endswith("loss=0.41")
    out = io.StringIO()
    assert list(config.progress(range(8), desc="steps", file=out)) == list(range(8))
    assert out.getvalue().count("\n") == 5 and "steps: 100% (8/8 it)" in out.getvalue()
    jump = io.StringIO()  # a small file copied in one block: a start line and an end line
    with config.progress(total=500, desc="tiny", file=jump) as bar:
        bar.update(500)
    assert [ln.split(" in ")[0] for ln in jump.getvalue().splitlines()] == [
        "tiny:   0% (0/500 it)",
        "tiny: 100% (500/500 it)",
    ]


def test_progress_on_a_terminal_is_tqdm():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    from tqdm.std import tqdm

    bar = config.progress(total=3, desc="x", file=Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(config.progress(total=3, disable=True), tqdm), "disabled bars stay tqdm (silent)"


def test_exercise_copies_write_their_artifacts_to_my_work(tmp_path, monkeypatch):
    """An attendee's run (exercises/ or my-work/) never replaces what `make run` left for later sections."""
    root = tmp_path
    for folder in ("exercises", "my-work/sub", "workshop_sections/mnist_softmax"):
        (root / folder).mkdir(parents=True)
    assert config.attendee_artifacts(root, root / "exercises") == root / "my-work" / "artifacts"
    assert config.attendee_artifacts(root, root / "my-work" / "sub") == root / "my-work" / "artifacts"
    assert config.attendee_artifacts(root, root / "workshop_sections" / "mnist_softmax") is None
    monkeypatch.delenv("WORKSHOP_ARTIFACTS", raising=False)
    monkeypatch.setenv("WORKSHOP_ROOT", str(root))
    monkeypatch.chdir(root / "exercises")
    cfg = config.setup(verbose=False, gpus=[])
    assert cfg.artifacts_dir == root / "my-work" / "artifacts"
    assert config.artifacts_dir() == root / "my-work" / "artifacts", "the helper modules' default follows"
    assert cfg.summary().endswith("| artifacts my-work/artifacts")
    monkeypatch.delenv("WORKSHOP_ARTIFACTS")
    monkeypatch.chdir(root / "workshop_sections" / "mnist_softmax")
    cfg = config.setup(verbose=False, gpus=[])
    assert cfg.artifacts_dir == root / "artifacts" and "artifacts" not in cfg.summary().split("|")[-1]


def test_a_relative_workshop_artifacts_is_taken_from_the_repository_root(tmp_path, monkeypatch):
    """nbval starts each kernel in its notebook's folder: a relative WORKSHOP_ARTIFACTS must not
    land in workshop_sections/<section>/build/... (the later sections would not find it)."""
    root = config.find_root()
    monkeypatch.chdir(root / "workshop_sections" / "mnist_softmax")
    monkeypatch.setenv("WORKSHOP_ARTIFACTS", "build/test-artifacts")
    assert config.artifacts_dir() == (root / "build" / "test-artifacts").resolve()
    monkeypatch.setenv("WORKSHOP_ARTIFACTS", str(tmp_path / "elsewhere"))
    assert config.artifacts_dir() == (tmp_path / "elsewhere").resolve()
    monkeypatch.delenv("WORKSHOP_ARTIFACTS")
    assert config.artifacts_dir() == root / "artifacts"


def test_plain_progress_prints_each_mark_once_and_the_final_line_once():
    """In a log (no TTY) the bar is five plain lines: the start, one per quarter passed and 100%, the
    last with the final postfix, never the 100% line twice."""
    import io

    out = io.StringIO()
    bar = config.PlainProgress(total=100, desc="train", unit="w", file=out)
    for step in range(10):
        bar.set_postfix(loss=f"{1.0 / (step + 1):.2f}")
        bar.update(10)
    bar.close()
    lines = out.getvalue().splitlines()
    percents = [int(line.split("%")[0].split()[-1]) for line in lines]
    assert percents == [0, 30, 50, 80, 100], percents  # the first update past each quarter
    assert lines[-1].endswith("loss=0.10") and "\r" not in out.getvalue()


def test_quiet_tensorflow_freezes_at_exit_and_can_leave_out_keras_scikit_learn_and_matplotlib():
    """At exit TensorFlow's objects are frozen (gc.freeze, before the modules are torn down): a
    command line's exit no longer spends a second collecting them; before exit nothing is frozen
    (garbage of the user's is still collected). ``lean`` (the word2vec CLI) imports TensorFlow
    without Keras and the scikit-learn and matplotlib Keras pulls in, and all three still work
    after."""
    import subprocess  # noqa: PLC0415 (a fresh process: TensorFlow must not be imported yet)
    import sys  # noqa: PLC0415

    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('at exit', gc.get_freeze_count()))  # runs last (LIFO)\n"
        "from workshop_sections import config\n"
        "config.quiet_tensorflow(lean=True)\n"
        "print(gc.get_freeze_count(), 'tensorflow' in sys.modules, 'keras' in sys.modules,"
        " 'sklearn' in sys.modules, 'matplotlib' in sys.modules)\n"
        "import tensorflow as tf\n"
        "print(tf.keras.layers.Dense(2)(tf.ones([1, 3])).shape)\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "print(LogisticRegression().fit([[0.0], [1.0]], [0, 1]).predict([[0.9]])[0])\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "print(type(plt.figure()).__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=config.find_root()
    )
    assert proc.returncode == 0, proc.stderr
    first, keras_layer, second, third, fourth = proc.stdout.strip().splitlines()
    assert first == "0 True False False False"
    assert keras_layer == "(1, 2)"
    assert second == "1"
    assert third == "Figure"
    assert fourth.startswith("at exit ") and int(fourth.split()[-1]) > 100_000
