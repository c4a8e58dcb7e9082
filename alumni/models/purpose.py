"""The five purposes an alumnus can consent to, each with its own yes or no."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Purpose(StrEnum):
    COURSES = "courses"
    VACANCIES = "vacancies"
    EVENTS = "events"
    RESEARCH = "research"
    SURVEYS = "surveys"

    @property
    def label(self) -> str:
        return str(_LABELS[self])

    @property
    def explanation(self) -> str:
        return str(_EXPLANATIONS[self])


_LABELS = {
    Purpose.COURSES: _l("Courses and trainings"),
    Purpose.VACANCIES: _l("Vacancies and guest lectures"),
    Purpose.EVENTS: _l("Events and activities"),
    Purpose.RESEARCH: _l("Research"),
    Purpose.SURVEYS: _l("Questions about your experience"),
}

_EXPLANATIONS = {
    Purpose.COURSES: _l("We invite you to courses and trainings that fit your field."),
    Purpose.VACANCIES: _l("We invite you for vacancies or to give a guest lecture at our school."),
    Purpose.EVENTS: _l("We invite you to events and activities for alumni."),
    Purpose.RESEARCH: _l("We ask you to take part in research that is relevant to you."),
    Purpose.SURVEYS: _l("We ask you about your experience at our school, to improve education."),
}
