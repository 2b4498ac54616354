"""The README's attendee and instructor guides: present, complete, and naming real commands."""

import re
from pathlib import Path

from workshop_sections import SECTIONS

ROOT = Path(__file__).resolve().parents[1]


def section(text, title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def test_guides_exist_and_cover_what_they_promise():
    readme = (ROOT / "README.md").read_text()
    attendee = section(readme, "Attendee guide")
    for needed in (
        "make setup",
        "make data",
        "make doctor",
        "make lab",
        "WORKSHOP_DATA_MIRROR",
        "Troubleshooting",
    ):
        assert needed in attendee, f"the attendee guide does not mention {needed}"
    instructor = section(readme, "Instructor guide")
    for needed in ("make exercises", "make slides", "make serve-data", "JUPYTER_TOKEN", "notebooks run"):
        assert needed in instructor, f"the instructor guide does not mention {needed}"
    assert re.search(r"docker run [^\n]*-p 127\.0\.0\.1:8888:8888", instructor), (
        "docker run must publish on 127.0.0.1 only"
    )


def test_timetable_has_a_quick_and_a_full_time_for_every_section():
    instructor = section((ROOT / "README.md").read_text(), "Instructor guide")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| \d \| (\w+) \|(.*)$", instructor, re.M)}
    for name in SECTIONS:
        assert name in rows, f"the timetable has no row for {name}"
        times = re.findall(r"\d+ (?:s|min)", rows[name])
        assert len(times) >= 2, f"{name}: the timetable needs a quick and a full time, got {rows[name]!r}"


def test_the_make_targets_the_guides_name_exist():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in sorted(set(re.findall(r"`make ([a-z][a-z-]+)", readme))):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), (
            f"README names make {target}, the Makefile has no such target"
        )
