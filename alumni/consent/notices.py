"""The privacy notice for alumni as records: publishing a version, the version in force, and
what changed between two versions.

A version is published once and never changed (the text a person agreed under is evidence);
the one in force is the one published last (of those whose text is recorded). Every consent
and every piece of evidence names the version it was given under.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from alumni import audit
from alumni.core.markdown import render_markdown
from alumni.extensions import db
from alumni.models import PrivacyNotice, utcnow

VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")
# A notice is a page of text; a file far beyond that is a mistake (a PDF, a whole website).
MAX_TEXT_CHARACTERS = 100_000
LANGUAGE_NAMES = {"nl": _l("Dutch"), "en": _l("English")}


class NoticeError(Exception):
    """A version that cannot be published, with the reason in words for whoever publishes."""

    def __init__(self, code: str, message: LazyString | str) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


def digest(text: str) -> str:
    """The SHA-256 of a notice's text as stored: its UTF-8 bytes."""
    return sha256(text.encode("utf-8")).hexdigest()


def _latest(what: Any) -> sa.Select:
    """The version published last whose text is recorded (one from before the texts were
    stored cannot be shown, so nobody consents under it any more)."""
    return (
        sa.select(what)
        .where(PrivacyNotice.sha256_nl.is_not(None))
        .order_by(PrivacyNotice.published_at.desc())
        .limit(1)
    )


def in_force() -> PrivacyNotice:
    """The notice new consent is given under."""
    notice = db.session.scalar(_latest(PrivacyNotice))
    if notice is None:  # the migration that made the table published the first version
        raise LookupError("no privacy notice is published")
    return notice


def version_in_force() -> str:
    return db.session.scalar(_latest(PrivacyNotice.version))


def find(version: str) -> PrivacyNotice | None:
    return db.session.get(PrivacyNotice, version)


def every_version() -> list[PrivacyNotice]:
    """Newest first."""
    return list(
        db.session.scalars(sa.select(PrivacyNotice).order_by(PrivacyNotice.published_at.desc()))
    )


def previous(notice: PrivacyNotice) -> PrivacyNotice | None:
    """The version published just before ``notice``."""
    return db.session.scalar(
        sa.select(PrivacyNotice)
        .where(PrivacyNotice.published_at < notice.published_at)
        .order_by(PrivacyNotice.published_at.desc())
        .limit(1)
    )


def publish(
    version: str, *, text_nl: str, text_en: str, material: bool, actor: str
) -> PrivacyNotice:
    """Publish a new version; it is in force from now on. The caller commits."""
    version = version.strip()
    if not VERSION_PATTERN.fullmatch(version):
        raise NoticeError(
            "bad-version",
            _l(
                "A version is 1 to 32 letters, digits, dots, dashes or underscores, "
                "starting with a letter or digit (e.g. 2027-01)."
            ),
        )
    if find(version) is not None:
        raise NoticeError(
            "version-exists",
            _l(
                "Version %(version)s is published already; a published text never changes. "
                "Publish the new text under a new version.",
                version=version,
            ),
        )
    texts = {"nl": _clean(text_nl, "nl"), "en": _clean(text_en, "en")}
    latest = db.session.scalar(sa.select(sa.func.max(PrivacyNotice.published_at)))
    now = utcnow()
    if latest is not None and now <= latest:  # the one in force is the one published last
        raise NoticeError(
            "clock-behind",
            _l("The last version was published later than this machine's clock says it is now."),
        )
    notice = PrivacyNotice(
        version=version,
        published_at=now,
        material=material,
        text_nl=texts["nl"],
        text_en=texts["en"],
        sha256_nl=digest(texts["nl"]),
        sha256_en=digest(texts["en"]),
    )
    db.session.add(notice)
    audit.record(
        "notice.published",
        actor=actor,
        version=version,
        material=material,
        sha256_nl=notice.sha256_nl,
        sha256_en=notice.sha256_en,
    )
    return notice


def _clean(text: str, language: str) -> str:
    """One way of writing the same text: Unix line ends, no trailing blanks, one final line
    end. The digest is over this form."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned = "\n".join(lines).strip("\n")
    if not cleaned:
        raise NoticeError(
            f"empty-{language}",
            _l("The %(language)s text is empty.", language=LANGUAGE_NAMES[language]),
        )
    if len(cleaned) > MAX_TEXT_CHARACTERS:
        raise NoticeError(
            f"long-{language}",
            _l(
                "The %(language)s text is longer than %(count)d characters: is it the notice?",
                language=LANGUAGE_NAMES[language],
                count=MAX_TEXT_CHARACTERS,
            ),
        )
    return cleaned + "\n"


def as_html(notice: PrivacyNotice, language: str) -> Markup:
    """The text as the person reads it: Markdown, only harmless tags."""
    return Markup(render_markdown(notice.text(language)))  # sanitised by nh3


# -- comparing two versions -------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    """One row of a side-by-side comparison: the old line, the new line, and what happened
    (``same``, ``changed``, ``removed``, ``added``); a side is None where it has no line."""

    change: str
    old: str | None
    new: str | None


def compare(old_text: str, new_text: str) -> list[DiffLine]:
    """Line by line, side by side, as a reader compares two versions of a text."""
    old, new = old_text.splitlines(), new_text.splitlines()
    rows: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffLine("same", line, line) for line in old[i1:i2]]
        elif tag == "delete":
            rows += [DiffLine("removed", line, None) for line in old[i1:i2]]
        elif tag == "insert":
            rows += [DiffLine("added", None, line) for line in new[j1:j2]]
        else:  # replace: pair the lines up, the longer side's rest stands alone
            before, after = old[i1:i2], new[j1:j2]
            for index in range(max(len(before), len(after))):
                rows.append(
                    DiffLine(
                        "changed",
                        before[index] if index < len(before) else None,
                        after[index] if index < len(after) else None,
                    )
                )
    return rows
