"""Instructor and attendee tooling, beside the six sections: not part of any lesson.

``notebooks`` (run every notebook, the results table), ``export`` (``#| export`` cells into the
helper modules), ``exercise_copies`` (the attendee copies in ``exercises/``), ``checks`` (the
"check your answer" cells), ``slides`` (reveal.js decks), ``doctor`` (is this machine ready?),
``serve_data`` (the room's data and wheel mirror), ``colab`` (Colab links and install).
Each is run as ``python -m workshop_sections.tools.<name>``; the ``make`` targets call them.
"""
