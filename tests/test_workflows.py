"""The GitHub Actions workflows: make test on every push, and weekly against the newest TensorFlow."""

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # PyYAML comes with jupyterlab (jupyter-events)

WF = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def load(name):
    doc = yaml.safe_load((WF / name).read_text())
    return doc, doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as True


def steps_text(doc):
    return "\n".join(str(s.get("run", "")) for job in doc["jobs"].values() for s in job["steps"])


def test_make_test_runs_on_every_push():
    doc, on = load("test.yml")
    assert "push" in on
    assert "make test" in steps_text(doc)
    job = next(iter(doc["jobs"].values()))
    assert "WORKSHOP_DATA_MIRROR" in job["env"], (
        "CI needs a data mirror or internet: the variable must be passed"
    )


def test_weekly_job_installs_the_newest_tensorflow_over_the_pins():
    doc, on = load("weekly-latest-tf.yml")
    cron = on["schedule"][0]["cron"].split()
    assert len(cron) == 5 and cron[4] != "*", "a weekly schedule (one weekday)"
    text = steps_text(doc)
    assert "make setup" in text and "--upgrade tensorflow-cpu" in text
    assert text.index("--upgrade tensorflow-cpu") < text.index("make test")


def test_weekly_job_touches_the_stamp_make_setup_checks():
    """After the upgrade, make test must not reinstall the pins: the touched file is make setup's stamp."""
    doc, _ = load("weekly-latest-tf.yml")
    makefile = (WF.parents[1] / "Makefile").read_text()
    assert "STAMP := $(VENV)/.installed-gpu$(GPU)" in makefile
    assert "touch .venv/.installed-gpu0" in steps_text(doc)
