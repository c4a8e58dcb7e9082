"""The privacy notice as records: the first version comes with the database, a new one is in
force once published, every decision names the version it was given under, a published text
never changes, and two versions compare line by line."""

from __future__ import annotations

from hashlib import sha256

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from alumni import create_app
from alumni.consent import notices
from alumni.consent.decisions import record_choices
from alumni.extensions import db
from alumni.models import (
    AuditEntry,
    ConsentEvidence,
    EvidenceChannel,
    PrivacyNotice,
    PublishedNoticeChanged,
)
from alumni.models.purpose import Purpose
from tests.conftest import FIRST_NOTICE, base_config
from tests.support.factories import make_alumnus

NEW_NL = "# Privacyverklaring\n\nWe vragen je toestemming per doel.\n"
NEW_EN = "# Privacy notice\n\nWe ask your consent per purpose.\n"


def publish(version: str = "2027-01", **texts: str) -> PrivacyNotice:
    notice = notices.publish(
        version,
        text_nl=texts.get("nl", NEW_NL),
        text_en=texts.get("en", NEW_EN),
        material=texts.get("material") == "yes",
        actor="cli",
    )
    db.session.commit()
    return notice


def test_the_first_version_comes_with_the_database_and_is_in_force(app):
    first = notices.in_force()
    assert first.version == FIRST_NOTICE and first.recorded
    for language in ("nl", "en"):
        assert first.sha256(language) == sha256(first.text(language).encode()).hexdigest()
    assert app.config["ORGANISATION_NAME"] in first.text_nl  # written for this organisation
    assert app.config["PRIVACY_CONTACT"] in first.text_en


def test_a_published_version_is_in_force_and_decisions_name_it(app):
    person = make_alumnus()
    record_choices(person, {Purpose.EVENTS: True}, EvidenceChannel.OPTIN_FORM)
    db.session.commit()
    notice = publish("2027-01")

    assert notices.version_in_force() == "2027-01"
    record_choices(person, {Purpose.EVENTS: False}, EvidenceChannel.PREFERENCES)
    db.session.commit()
    evidence = db.session.scalars(sa.select(ConsentEvidence).order_by(ConsentEvidence.id)).all()
    assert [row.notice_version for row in evidence] == [FIRST_NOTICE, "2027-01"]
    assert notice.sha256_nl == sha256(NEW_NL.encode()).hexdigest()
    [entry] = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "notice.published")
    )
    assert entry.details["version"] == "2027-01"
    assert entry.details["sha256_en"] == notice.sha256_en


def test_the_digest_is_over_one_way_of_writing_the_text(app):
    notice = publish(nl="Regel een  \r\nRegel twee\r\n\r\n", en="Line one\n")
    assert notice.text_nl == "Regel een\nRegel twee\n"
    assert notice.sha256_nl == sha256(b"Regel een\nRegel twee\n").hexdigest()


@pytest.mark.parametrize(
    ("version", "texts", "code"),
    [
        ("", {}, "bad-version"),
        ("2027 januari", {}, "bad-version"),
        ("-2027", {}, "bad-version"),
        ("v" * 33, {}, "bad-version"),
        (FIRST_NOTICE, {}, "version-exists"),
        ("2027-01", {"nl": "  \n\n"}, "empty-nl"),
        ("2027-01", {"en": "x" * (notices.MAX_TEXT_CHARACTERS + 1)}, "long-en"),
    ],
)
def test_what_cannot_be_published(app, version, texts, code):
    with pytest.raises(notices.NoticeError) as refused:
        publish(version, **texts)
    assert refused.value.code == code
    db.session.rollback()
    assert notices.version_in_force() == FIRST_NOTICE


def test_a_published_text_never_changes(app):
    notice = publish()
    notice.text_nl = "Iets anders."
    with pytest.raises(PublishedNoticeChanged):
        db.session.commit()
    db.session.rollback()
    db.session.delete(notices.find("2027-01"))
    with pytest.raises(PublishedNoticeChanged):
        db.session.commit()
    db.session.rollback()
    assert notices.find("2027-01").text_nl == NEW_NL


def test_evidence_cannot_name_a_version_that_was_never_published(app):
    db.session.add(
        ConsentEvidence(
            subject_id="s" * 22,
            purpose=Purpose.EVENTS,
            decision="granted",
            notice_version="1999-01",
            channel=EvidenceChannel.OPTIN_FORM,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_versions_compare_line_by_line():
    old = "Titel\nWe delen niets.\nVragen: privacy@x.example\n"
    new = "Titel\nWe delen niets met anderen.\nVragen: privacy@x.example\nNieuw slot.\n"
    assert notices.compare(old, new) == [
        notices.DiffLine("same", "Titel", "Titel"),
        notices.DiffLine("changed", "We delen niets.", "We delen niets met anderen."),
        notices.DiffLine("same", "Vragen: privacy@x.example", "Vragen: privacy@x.example"),
        notices.DiffLine("added", None, "Nieuw slot."),
    ]
    assert notices.compare(new, old)[-1] == notices.DiffLine("removed", "Nieuw slot.", None)


def test_the_migration_keeps_versions_in_use_whose_text_was_never_recorded(tmp_path):
    """A database from before notices were stored: its evidence names 2026-11 and, later, a
    version an operator had configured; the upgrade publishes the first with its text and
    keeps the other without one."""
    path = tmp_path / "old.sqlite3"
    app = create_app(base_config(tmp_path, f"sqlite:///{path}"), instance_path=str(tmp_path))
    with app.app_context():
        upgrade(revision="0011")
        insert = sa.text(
            "INSERT INTO consent_evidence (subject_id, purpose, decision, recorded_at, "
            "notice_version, channel) VALUES (:s, 'events', 'granted', :at, :v, 'optin_form')"
        )
        with db.engine.begin() as connection:
            connection.execute(insert, {"s": "a" * 22, "at": "2026-11-20 10:00:00", "v": "2026-11"})
            connection.execute(
                insert, {"s": "b" * 22, "at": "2026-11-25 10:00:00", "v": "school-3"}
            )
        upgrade()
        versions = {notice.version: notice for notice in notices.every_version()}
        assert set(versions) == {"2026-11", "school-3"}
        assert versions["2026-11"].recorded and not versions["school-3"].recorded
        assert versions["school-3"].published_at.day == 25  # its first use
        # The newer one has no text to show: new consent is given under the recorded one.
        assert notices.version_in_force() == "2026-11"
        db.session.remove()
        db.engine.dispose()
