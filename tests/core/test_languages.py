"""Language: every text has a Dutch translation with the same placeholders; pages speak the
alumnus's language, else the browser's, Dutch by default; emails speak the recipient's language.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from alumni.extensions import db
from alumni.people import emails
from alumni.people.links import LinkKind, make_token
from tests.support.factories import make_alumnus
from tests.support.paths import ROOT

TRANSLATIONS = ROOT / "alumni" / "translations"
DUTCH_PO = TRANSLATIONS / "nl" / "LC_MESSAGES" / "messages.po"
# The same extraction as `make extract-messages`.
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext"]
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
HTML_LANG = re.compile(r"<html\b[^>]*\blang=\"([^\"]*)\"")

# Phrases that say which language a page or email is in.
LINK_PAGE = {"nl": "Vraag een nieuwe link aan per e-mail", "en": "Get a fresh link by email"}
OPTIN_PAGE = {
    "nl": "Waarover mogen we contact met je opnemen?",
    "en": "What may we contact you about?",
}
PURPOSE = {"nl": "Cursussen en trainingen", "en": "Courses and trainings"}
FIELD = {"nl": "Voornaam", "en": "First name"}
INVITATION_TEXT = {
    "nl": "Gefeliciteerd met je diploma!",
    "en": "Congratulations on your diploma!",
}
FRESH_LINK_TEXT = {
    "nl": "Je hebt een nieuwe link naar het toestemmingsformulier aangevraagd.",
    "en": "You asked for a new link to the consent form.",
}
OTHER = {"nl": "en", "en": "nl"}


# -- catalogues -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A fresh extraction of every text in the code and templates."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *EXTRACT, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def forms(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations) or "?"


def placeholder_problem(message: Message) -> str | None:
    """Why the translation's placeholders differ from the original's, or None."""
    expected = set().union(*(placeholders(text) for text in forms(message.id)))
    translated = [placeholders(text) for text in forms(message.string)]
    if isinstance(message.id, str):
        if translated[0] != expected:
            return f"{sorted(translated[0])} instead of {sorted(expected)}"
        return None
    # Plural forms: a singular may leave out the number, but nothing may be invented.
    if set().union(*translated) != expected or any(not found <= expected for found in translated):
        return f"{[sorted(found) for found in translated]} instead of {sorted(expected)}"
    return None


def test_the_extraction_finds_texts(extracted):
    ids = {message.id for message in extracted if message.id}
    assert "Courses and trainings" in ids
    assert "Stay in touch with %(organisation)s? You decide" in ids


def test_every_text_has_a_dutch_translation(extracted):
    dutch = read_catalogue(DUTCH_PO)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        found = dutch.get(message.id, message.context)
        if found is None:
            problems.append(f"not in the catalogue: {message.id!r} ({where(message)})")
        elif found.fuzzy:
            problems.append(f"fuzzy: {message.id!r} ({where(message)})")
        elif not forms(found.string) or not all(forms(found.string)):
            problems.append(f"not translated: {message.id!r} ({where(message)})")
    assert not problems, (
        f"{len(problems)} texts without a Dutch translation; run `make extract-messages`, "
        "translate them in alumni/translations/nl/LC_MESSAGES/messages.po and compile:\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize("language", ["nl", "en"])
def test_translations_keep_the_placeholders(language):
    catalogue = read_catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in catalogue:
        if not message.id or not any(forms(message.string)):
            continue  # an empty English text falls back to the original
        problem = placeholder_problem(message)
        if problem:
            problems.append(f"{message.id!r} ({where(message)}): {problem}")
    assert not problems, "placeholders changed in translation:\n" + "\n".join(problems)


def test_the_dutch_catalogue_has_no_fuzzy_header():
    """`pybabel compile` skips a catalogue whose header is fuzzy: its texts would not show."""
    assert not read_catalogue(DUTCH_PO).fuzzy


# -- pages ------------------------------------------------------------------------------------


def page_language(html: str) -> str:
    found = HTML_LANG.search(html)
    assert found, "the page has no <html lang>"
    return found.group(1)


def assert_in_language(html: str, language: str, phrases: dict[str, str]) -> None:
    assert page_language(html) == language
    assert phrases[language] in html
    assert phrases[OTHER[language]] not in html


def test_the_link_page_is_dutch_by_default(client):
    response = client.get("/link")
    assert response.status_code == 200
    assert_in_language(response.get_data(as_text=True), "nl", LINK_PAGE)


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
        ("en;q=0.5,nl;q=0.9", "nl"),
        ("de, fr", "nl"),  # neither: our default
    ],
)
def test_the_link_page_follows_the_browser(client, accept, language):
    response = client.get("/link", headers={"Accept-Language": accept})
    assert_in_language(response.get_data(as_text=True), language, LINK_PAGE)


@pytest.mark.parametrize(("asked", "browser"), [("en", "nl"), ("nl", "en")])
def test_lang_in_the_address_overrides_the_browser(client, asked, browser):
    response = client.get(f"/link?lang={asked}", headers={"Accept-Language": browser})
    assert_in_language(response.get_data(as_text=True), asked, LINK_PAGE)


def test_an_unknown_lang_in_the_address_is_ignored(client):
    response = client.get("/link?lang=xx", headers={"Accept-Language": "en"})
    assert_in_language(response.get_data(as_text=True), "en", LINK_PAGE)


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_consent_form_speaks_the_alumnus_language_whatever_the_browser(client, locale):
    alumnus = make_alumnus(locale=locale)
    response = client.get(
        f"/optin/{make_token(LinkKind.OPTIN, alumnus)}",
        headers={"Accept-Language": OTHER[locale]},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_in_language(html, locale, OPTIN_PAGE)
    # Texts from Python (lazy) are in the same language as the template's.
    assert PURPOSE[locale] in html
    assert FIELD[locale] in html


def test_lang_in_the_address_overrides_the_alumnus_language(client):
    alumnus = make_alumnus(locale="nl")
    response = client.get(f"/optin/{make_token(LinkKind.OPTIN, alumnus)}?lang=en")
    html = response.get_data(as_text=True)
    assert_in_language(html, "en", OPTIN_PAGE)
    assert PURPOSE["en"] in html


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_a_bad_link_of_a_known_alumnus_speaks_their_language(client, locale):
    alumnus = make_alumnus(locale=locale)
    token = make_token(LinkKind.OPTIN, alumnus)
    alumnus.link_version += 1  # e.g. the address changed: the old link is revoked
    db.session.commit()
    response = client.get(f"/optin/{token}", headers={"Accept-Language": OTHER[locale]})
    assert response.status_code == 410
    assert page_language(response.get_data(as_text=True)) == locale


# -- emails -----------------------------------------------------------------------------------


def email_language(html: str) -> str:
    found = HTML_LANG.search(html)
    assert found, "the email's HTML has no <html lang>"
    return found.group(1)


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_invitation_speaks_the_alumnus_language(app, locale):
    alumnus = make_alumnus(locale=locale)
    email = emails.invitation(alumnus)
    organisation = app.config["ORGANISATION_NAME"]
    subject = {
        "nl": f"In contact blijven met {organisation}? Jij beslist",
        "en": f"Stay in touch with {organisation}? You decide",
    }
    assert email.subject == subject[locale]
    for body in (email.text, email.html):
        assert INVITATION_TEXT[locale] in body
        assert INVITATION_TEXT[OTHER[locale]] not in body
        assert PURPOSE[locale] in body
        assert PURPOSE[OTHER[locale]] not in body
    assert email_language(email.html) == locale


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_an_email_made_during_a_request_ignores_the_browser(app, locale):
    """A fresh link is mailed while answering someone's browser: the alumnus's language wins."""
    alumnus = make_alumnus(locale=locale)
    with app.test_request_context("/link", headers={"Accept-Language": OTHER[locale]}):
        invitation = emails.invitation(alumnus)
        fresh_link = emails.fresh_link(alumnus)
    assert INVITATION_TEXT[locale] in invitation.text
    assert email_language(invitation.html) == locale
    assert FRESH_LINK_TEXT[locale] in fresh_link.text
    assert FRESH_LINK_TEXT[locale] in fresh_link.html
    assert email_language(fresh_link.html) == locale
