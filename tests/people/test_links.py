"""Signed links (I8): tampered, truncated, expired, wrong-kind and revoked links are refused."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode

from alumni.extensions import db
from alumni.models import AlumnusStatus
from alumni.people.links import (
    CAPABILITIES,
    BadLink,
    LinkKind,
    LinkMaker,
    link_url_for_token,
    make_token,
    may_hand_out,
    read_one_click,
    read_token,
    unverified_subject,
)
from tests.support.factories import make_alumnus

KINDS = list(LinkKind)
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_a_genuine_link_finds_its_alumnus(app):
    alumnus = make_alumnus()
    for kind in KINDS:
        assert read_token(kind, make_token(kind, alumnus)).alumnus.id == alumnus.id


def same_token(one: str, other: str) -> bool:
    """Whether two spellings decode to the same bytes: the last character of a base64 segment
    carries bits that decoding drops, so changing only those is no tampering at all."""
    parts, other_parts = one.split("."), other.split(".")
    if len(parts) != len(other_parts):
        return False
    try:
        pairs = zip(parts, other_parts, strict=True)
        return all(base64_decode(a) == base64_decode(b) for a, b in pairs)
    except Exception:  # undecodable: certainly not the same token
        return False


@HYPOTHESIS
@given(data=st.data())
def test_a_changed_character_breaks_the_link(app, data):
    alumnus = make_alumnus()
    token = make_token(LinkKind.OPTIN, alumnus)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    assume(not same_token(tampered, token))
    with pytest.raises(BadLink) as refused:
        read_token(LinkKind.OPTIN, tampered)
    assert refused.value.reason == "invalid"


@HYPOTHESIS
@given(cut=st.integers(min_value=1, max_value=200))
def test_a_truncated_link_is_refused(app, cut):
    alumnus = make_alumnus()
    token = make_token(LinkKind.PREFERENCES, alumnus)
    with pytest.raises(BadLink):
        read_token(LinkKind.PREFERENCES, token[: max(0, len(token) - cut)])


@HYPOTHESIS
@given(garbage=st.text(max_size=300))
def test_arbitrary_text_is_refused_not_crashed(app, garbage):
    with pytest.raises(BadLink):
        read_token(LinkKind.OPTIN, garbage)


@pytest.mark.parametrize("made_as", KINDS)
@pytest.mark.parametrize("used_as", KINDS)
def test_a_link_of_one_kind_never_works_as_another(app, made_as, used_as):
    alumnus = make_alumnus()
    token = make_token(made_as, alumnus)
    if made_as == used_as:
        assert read_token(used_as, token).alumnus.id == alumnus.id
    else:
        with pytest.raises(BadLink) as refused:
            read_token(used_as, token)
        assert refused.value.reason == "invalid"


def test_an_expired_link_is_refused_and_knows_whose_it_was(app, monkeypatch):
    alumnus = make_alumnus(locale="en")
    token = make_token(LinkKind.OPTIN, alumnus)
    app.config["LINK_MAX_AGE_DAYS"] = 30
    future = time.time() + 31 * 86400
    monkeypatch.setattr(time, "time", lambda: future)
    with pytest.raises(BadLink) as refused:
        read_token(LinkKind.OPTIN, token)
    assert refused.value.reason == "expired"
    assert refused.value.status_code == 410
    assert refused.value.alumnus.locale == "en"


def test_a_new_address_ends_the_old_links(app):
    alumnus = make_alumnus()
    token = make_token(LinkKind.PREFERENCES, alumnus)
    alumnus.link_version += 1
    db.session.commit()
    with pytest.raises(BadLink) as refused:
        read_token(LinkKind.PREFERENCES, token)
    assert refused.value.reason == "revoked"


def test_rotated_keys_keep_old_links_working(app):
    alumnus = make_alumnus()
    token = make_token(LinkKind.OPTIN, alumnus)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-brand-new-key-" + "n" * 32
    assert read_token(LinkKind.OPTIN, token).alumnus.id == alumnus.id
    app.config["SECRET_KEY_FALLBACKS"] = []
    with pytest.raises(BadLink):
        read_token(LinkKind.OPTIN, token)


def test_links_are_itsdangerous_tokens_both_ways(app):
    """Links mailed before the quicker serializer still open, and its links open with the
    library's own serializer (so going back a release breaks no link)."""
    alumnus = make_alumnus()
    payload = [alumnus.subject_id, alumnus.link_version, "events", 7]
    for kind in KINDS:
        library = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=f"alumni.link.{kind}")
        assert read_token(kind, library.dumps(payload)).extra == ("events", 7)
        ours = make_token(kind, alumnus, "events", 7)
        assert library.loads(ours) == payload
        assert ours.split(".")[0] == library.dumps(payload).split(".")[0]  # the same payload


def test_a_link_maker_makes_the_links_of_make_token_and_link_url(app):
    alumnus = make_alumnus()
    maker = LinkMaker(LinkKind.UNSUBSCRIBE)
    token = maker.token(alumnus, "events", 3)
    assert read_token(LinkKind.UNSUBSCRIBE, token).extra == ("events", 3)
    assert maker.url_for_token(token) == link_url_for_token(LinkKind.UNSUBSCRIBE, token)
    assert maker.url(alumnus).startswith(app.config["BASE_URL"] + "/unsubscribe/")
    assert read_token(LinkKind.UNSUBSCRIBE, maker.url(alumnus).rpartition("/")[2])


# -- capabilities -----------------------------------------------------------------------------


def test_every_page_takes_one_kind_of_link_and_every_kind_has_its_page(app):
    assert set(CAPABILITIES) == set(LinkKind)
    pages = [page for rule in CAPABILITIES.values() for page in rule.pages]
    assert len(pages) == len(set(pages))
    for page in pages:
        assert page in app.view_functions


def test_each_kind_is_served_under_its_own_name(app):
    """The access logs find tokens by these names (alumni.web.access_log)."""
    for kind in LinkKind:
        url = link_url_for_token(kind, "T")
        assert url == f"{app.config['BASE_URL']}/{kind.value}/T"


@pytest.mark.parametrize(
    ("kind", "days"),
    [
        (LinkKind.OPTIN, 30),
        (LinkKind.PREFERENCES, 30),
        (LinkKind.MY_DATA, 30),
        (LinkKind.UNSUBSCRIBE, 730),
        (LinkKind.DECLINE, 730),
        (LinkKind.CONFIRM_ADDRESS, 1),
        (LinkKind.KEEP_ADDRESS, 7),
        (LinkKind.RENEWAL, 60),
    ],
)
def test_each_kind_opens_its_pages_for_its_lifetime_only(app, monkeypatch, kind, days):
    alumnus = make_alumnus()
    token = make_token(kind, alumnus, 1)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + days * 86400 - 60)
    assert read_token(kind, token).alumnus.id == alumnus.id
    monkeypatch.setattr(time, "time", lambda: now + days * 86400 + 60)
    with pytest.raises(BadLink) as refused:
        read_token(kind, token)
    assert refused.value.reason == "expired"


ONE_CLICK = [kind for kind in LinkKind if CAPABILITIES[kind].one_click]


def test_only_the_opt_outs_have_a_one_click():
    assert set(ONE_CLICK) == {LinkKind.UNSUBSCRIBE, LinkKind.DECLINE}


@pytest.mark.parametrize("kind", ONE_CLICK)
def test_a_one_click_works_at_any_age_and_link_version(app, monkeypatch, kind):
    alumnus = make_alumnus()
    token = make_token(kind, alumnus, "events", 1)
    alumnus.link_version += 3  # new addresses since
    db.session.commit()
    later = time.time() + 5 * 365 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    link = read_one_click(kind, token)
    assert link is not None and link.alumnus.id == alumnus.id
    with pytest.raises(BadLink):
        read_token(kind, token)  # its page does not open


@pytest.mark.parametrize("kind", [kind for kind in LinkKind if kind not in ONE_CLICK])
def test_no_other_kind_works_as_a_one_click(app, kind):
    alumnus = make_alumnus()
    with pytest.raises(BadLink):
        read_one_click(kind, make_token(kind, alumnus))


@pytest.mark.parametrize("kind", ONE_CLICK)
def test_a_one_click_of_someone_no_longer_on_file_finds_nothing_left(app, kind):
    alumnus = make_alumnus()
    token = make_token(kind, alumnus, "events", 1)
    gone = make_token(kind, type(alumnus)(subject_id="nobody-by-this-id", link_version=1))
    alumnus.status = AlumnusStatus.ERASED
    db.session.commit()
    assert read_one_click(kind, token) is None
    assert read_one_click(kind, gone) is None


@pytest.mark.parametrize("kind", ONE_CLICK)
def test_a_one_click_of_another_kind_or_tampered_is_refused(app, kind):
    alumnus = make_alumnus()
    other = LinkKind.PREFERENCES
    with pytest.raises(BadLink) as refused:
        read_one_click(kind, make_token(other, alumnus))
    assert refused.value.reason == "invalid"
    token = make_token(kind, alumnus, "events", 1)
    with pytest.raises(BadLink):
        read_one_click(kind, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


@pytest.mark.parametrize("holder", list(LinkKind))
@pytest.mark.parametrize("kind", list(LinkKind))
def test_what_each_kind_hands_out(holder, kind):
    allowed = {
        LinkKind.OPTIN: {LinkKind.PREFERENCES},
        LinkKind.PREFERENCES: {LinkKind.MY_DATA},
        LinkKind.JOIN: {LinkKind.OPTIN, LinkKind.PREFERENCES},
        LinkKind.RENEWAL: {LinkKind.PREFERENCES},  # "change my choices"
    }
    assert may_hand_out(holder, kind) is (kind in allowed.get(holder, set()))


def test_the_subject_of_a_token_is_read_for_counting_only(app):
    alumnus = make_alumnus()
    assert unverified_subject(make_token(LinkKind.UNSUBSCRIBE, alumnus, "events", 1)) == (
        alumnus.subject_id
    )
    assert unverified_subject("not a token") == ""
    assert unverified_subject("") == ""
