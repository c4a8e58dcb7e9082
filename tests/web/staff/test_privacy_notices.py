"""The privacy notice's versions for administrators: the list, one version whole, and two side
by side with what changed. Nobody else sees them here (alumni read them at /privacy)."""

from __future__ import annotations

import re

import pytest

from alumni.consent import notices
from alumni.extensions import db
from tests.conftest import FIRST_NOTICE
from tests.support.factories import make_staff
from tests.support.staff import StaffAuth, open_browser


@pytest.fixture
def admin(app) -> StaffAuth:
    make_staff("admin", email="admin@school.example")
    auth = StaffAuth(open_browser(app))
    auth.login("admin@school.example")
    return auth


def publish_changed_first() -> None:
    first = notices.find(FIRST_NOTICE)
    notices.publish(
        "2027-01",
        text_nl=first.text_nl.replace("Alleen met je toestemming.", "Alleen als jij ja zegt."),
        text_en=first.text_en + "\nA new closing line.\n",
        material=True,
        actor="cli",
    )
    db.session.commit()


def test_the_list_shows_every_version_and_which_is_in_force(app, admin):
    publish_changed_first()
    page = admin.client.get("/staff/notices").get_data(as_text=True)
    rows = re.findall(r'<a href="/staff/notices/([^"]+)">', page)
    assert rows == ["2027-01", FIRST_NOTICE]
    assert "(in force)" in page


def test_a_version_beside_the_one_before_shows_what_changed(app, admin):
    publish_changed_first()
    page = admin.client.get("/staff/notices/2027-01").get_data(as_text=True)
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', page, re.S)
    assert len(changed) == 1
    assert "Alleen met je toestemming." in changed[0] and "Alleen als jij ja zegt." in changed[0]
    english = admin.client.get("/staff/notices/2027-01?language=en").get_data(as_text=True)
    added = re.findall(r'<tr class="added">(.*?)</tr>', english, re.S)
    assert len(added) == 2 and "A new closing line." in added[-1]  # a blank line, then it
    against_itself = admin.client.get(f"/staff/notices/{FIRST_NOTICE}?against=2027-01")
    assert against_itself.status_code == 200


def test_the_first_version_has_nothing_to_compare(app, admin):
    page = admin.client.get(f"/staff/notices/{FIRST_NOTICE}").get_data(as_text=True)
    assert "nothing to compare" in page and 'id="notice-diff"' not in page


@pytest.mark.parametrize(
    "url",
    [
        "/staff/notices/1999-01",
        "/staff/notices/2026-11?language=de",
        "/staff/notices/2026-11?against=x",
    ],
)
def test_what_does_not_exist_is_404(app, admin, url):
    assert admin.client.get(url).status_code == 404


@pytest.mark.parametrize("role", ["officer", "researcher"])
def test_only_admins(app, role):
    make_staff(role, email=f"{role}@school.example")
    auth = StaffAuth(open_browser(app))
    auth.login(f"{role}@school.example")
    assert auth.client.get("/staff/notices").status_code == 403
    assert auth.client.get(f"/staff/notices/{FIRST_NOTICE}").status_code == 403
