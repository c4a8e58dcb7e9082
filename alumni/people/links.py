"""Signed links in emails, and what each kind of link may do: the one place that says so.

A link is an itsdangerous token, signed with a salt of its own kind, over the person's opaque
id, their link version and what the kind needs (a purpose, a request). A link of one kind never
works as another (I8). ``CAPABILITIES`` says, per kind, which pages it opens, how long, which
other links its pages may hand out, and whether its one-click POST works at any age;
``docs/links.md`` has the same table in words. A link's page dies when it is older than its
lifetime, when the person is erased, or when their link version moves on (a new address, an
undone change). The one-click opt-outs die only with the person: opting out harms nobody.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, SignatureExpired, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.serializer import Serializer

from alumni.extensions import db
from alumni.models import Alumnus


class LinkKind(StrEnum):
    OPTIN = "optin"  # the consent form, in the invitation
    PREFERENCES = "preferences"
    MY_DATA = "my-data"
    UNSUBSCRIBE = "unsubscribe"  # a campaign email's opt-out, also its List-Unsubscribe
    DECLINE = "decline"  # an invitation's opt-out: do not contact me
    CONFIRM_ADDRESS = "confirm-address"  # sent to a new address typed by the person
    KEEP_ADDRESS = "keep-address"  # sent to the old address after a change: undo it
    JOIN = "confirm-join"  # sent to the address typed at /join: confirm it, then the consent form
    RENEWAL = "renewal"  # asked again (a new notice, an old consent): keep my choices


def _days(setting: str) -> Callable[[Mapping[str, Any]], timedelta]:
    return lambda config: timedelta(days=config[setting])


def _fixed(lifetime: timedelta) -> Callable[[Mapping[str, Any]], timedelta]:
    return lambda config: lifetime


@dataclass(frozen=True)
class Capability:
    """What one kind of link may do."""

    # The endpoints it opens, its own page first; every other page refuses it.
    pages: tuple[str, ...]
    # How long its pages open, from the moment it was made.
    lifetime: Callable[[Mapping[str, Any]], timedelta]
    # The kinds of link its pages may hand out (``may_hand_out``).
    hands_out: frozenset[LinkKind] = frozenset()
    # RFC 8058: its POST ``List-Unsubscribe=One-Click`` works at any age and link version.
    one_click: bool = False


CAPABILITIES: dict[LinkKind, Capability] = {
    LinkKind.OPTIN: Capability(
        ("alumni.optin",),
        _days("LINK_MAX_AGE_DAYS"),
        hands_out=frozenset({LinkKind.PREFERENCES}),
    ),
    LinkKind.PREFERENCES: Capability(
        ("alumni.preferences",),
        _days("LINK_MAX_AGE_DAYS"),
        hands_out=frozenset({LinkKind.MY_DATA}),
    ),
    LinkKind.MY_DATA: Capability(("alumni.my_data",), _days("LINK_MAX_AGE_DAYS")),
    LinkKind.UNSUBSCRIBE: Capability(
        ("alumni.unsubscribe", "alumni.unsubscribe_preferences_link"),
        _days("UNSUBSCRIBE_MAX_AGE_DAYS"),
        one_click=True,
    ),
    LinkKind.DECLINE: Capability(
        ("alumni.decline",), _days("UNSUBSCRIBE_MAX_AGE_DAYS"), one_click=True
    ),
    LinkKind.CONFIRM_ADDRESS: Capability(("alumni.confirm_address",), _fixed(timedelta(hours=24))),
    LinkKind.KEEP_ADDRESS: Capability(("alumni.keep_address",), _fixed(timedelta(days=7))),
    LinkKind.JOIN: Capability(
        ("alumni.confirm_join",),
        _fixed(timedelta(hours=24)),
        hands_out=frozenset({LinkKind.OPTIN, LinkKind.PREFERENCES}),
    ),
    # Works as long as the answer is awaited: after the grace period the consent has lapsed.
    LinkKind.RENEWAL: Capability(
        ("alumni.renewal",),
        _days("RENEWAL_GRACE_DAYS"),
        hands_out=frozenset({LinkKind.PREFERENCES}),
    ),
}

# The kind of link each page takes: a page belongs to one kind only.
KIND_OF_PAGE = {page: kind for kind, rule in CAPABILITIES.items() for page in rule.pages}
assert len(KIND_OF_PAGE) == sum(len(rule.pages) for rule in CAPABILITIES.values())


def kind_of_page(endpoint: str | None) -> LinkKind:
    """The kind of link that ``endpoint`` takes; a page not reached by a link has none."""
    if endpoint not in KIND_OF_PAGE:
        raise LookupError(f"{endpoint} is not a page reached by a link")
    return KIND_OF_PAGE[endpoint]


def may_hand_out(holder: LinkKind, kind: LinkKind) -> bool:
    """Whether a page opened by a ``holder`` link may give its visitor a ``kind`` link."""
    return kind in CAPABILITIES[holder].hands_out


def max_age_seconds(kind: LinkKind) -> int:
    return int(CAPABILITIES[kind].lifetime(current_app.config).total_seconds())


class LinkRefusal(StrEnum):
    """Why a link was refused (I8); the friendly page says it in words."""

    INVALID = "invalid"  # tampered, cut short, or of another kind: never ours for this page
    EXPIRED = "expired"  # genuine, older than its lifetime
    REVOKED = "revoked"  # genuine, but the person moved on: erased, a new address, used

    @property
    def status_code(self) -> int:
        return 400 if self is LinkRefusal.INVALID else 410


class BadLink(Exception):
    """A link that cannot be used."""

    def __init__(self, reason: LinkRefusal, alumnus: Alumnus | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alumnus = alumnus

    @property
    def status_code(self) -> int:
        return self.reason.status_code


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    alumnus: Alumnus
    version: int  # the person's link version when the link was made
    extra: tuple[object, ...] = ()


def _serializer(kind: LinkKind) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts every key in the list.
    return _serializer_for(kind, (*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]))


@lru_cache(maxsize=32)
def _serializer_for(kind: LinkKind, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    """Made once per kind and keys: a campaign signs two links for every email."""
    return _LinkSerializer(
        list(keys), salt=f"alumni.link.{kind}", signer_kwargs={"digest_method": hashlib.sha1}
    )


class _LinkSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed tokens, the same bytes for less work (a campaign makes two
    per email). SHA-1 is given as OpenSSL's own function, which ``hmac`` runs in one call;
    itsdangerous' default is a Python wrapper around the same SHA-1, which ``hmac`` runs step
    by step. And a link's payload (a random id, a version, a purpose, a number) is not offered
    to zlib, which does not make a few dozen such bytes shorter; a token loads either way."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    @cached_property
    def _signer(self) -> Signer:
        return super().make_signer()

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        # A signer holds only the keys and the salt: one for all the tokens, not one each.
        return self._signer if salt is None else super().make_signer(salt)


class LinkHolder(Protocol):
    """What a link names of its person: an ``Alumnus``, or a row read for sending."""

    @property
    def subject_id(self) -> str: ...

    @property
    def link_version(self) -> int: ...


class LinkMaker:
    """Links of one kind, for one person after another: the keys and the address up to the
    token are looked up once (a campaign makes two links for every email). Make one per batch
    of work, not per process: the keys and ``BASE_URL`` are read when it is made."""

    def __init__(self, kind: LinkKind) -> None:
        self._dumps = _serializer(kind).dumps
        self._prefix = link_url_for_token(kind, "")

    def token(self, alumnus: LinkHolder, *extra: object) -> str:
        return self._dumps([alumnus.subject_id, alumnus.link_version, *extra])

    def url(self, alumnus: LinkHolder, *extra: object) -> str:
        return self._prefix + self.token(alumnus, *extra)

    def url_for_token(self, token: str) -> str:
        return self._prefix + token


def make_token(kind: LinkKind, alumnus: LinkHolder, *extra: object) -> str:
    return LinkMaker(kind).token(alumnus, *extra)


def link_url(kind: LinkKind, alumnus: LinkHolder, *extra: object) -> str:
    """The absolute URL for an email, on ``BASE_URL`` whatever request we are in."""
    return LinkMaker(kind).url(alumnus, *extra)


def link_url_for_token(kind: LinkKind, token: str) -> str:
    return current_app.config["BASE_URL"] + _paths()[kind] + token


def _paths() -> dict[LinkKind, str]:
    """The path of each kind of link up to its token, from the routes, once per app.
    Built without a request: workers make these links too."""
    paths = current_app.extensions.get("link_paths")
    if paths is None:
        adapter = current_app.url_map.bind("localhost")
        paths = {
            kind: adapter.build(rule.pages[0], {"token": "T"}).removesuffix("T")
            for kind, rule in CAPABILITIES.items()
        }
        current_app.extensions["link_paths"] = paths
    return paths


def read_token(kind: LinkKind, token: str) -> Link:
    """Verify a link for its pages and find its person, or raise ``BadLink``: within its
    lifetime, the person on file and not erased, the link version theirs."""
    serializer = _serializer(kind)
    try:
        payload = serializer.loads(token, max_age=max_age_seconds(kind))
    except SignatureExpired as expired:
        # The signature is genuine, so the payload is ours: use it to answer in their language.
        alumnus = _on_file(_find(_payload_or_none(serializer, expired)))
        raise BadLink(LinkRefusal.EXPIRED, alumnus) from None
    except (BadData, UnicodeError, ValueError):
        raise BadLink(LinkRefusal.INVALID) from None
    alumnus = _on_file(_find(payload))
    if alumnus is None or alumnus.link_version != payload[1]:
        raise BadLink(LinkRefusal.REVOKED, alumnus)
    return Link(kind, alumnus, payload[1], tuple(payload[2:]))


def read_one_click(kind: LinkKind, token: str) -> Link | None:
    """Verify a link for its one-click POST: a genuine signature is all it needs, whatever its
    age and the person's link version since (RFC 8058: an old newsletter's opt-out still
    works). None when the person is no longer on file: there is nothing left to stop."""
    if not CAPABILITIES[kind].one_click:
        raise BadLink(LinkRefusal.INVALID)
    try:
        payload = _serializer(kind).loads(token)
    except (BadData, UnicodeError, ValueError):
        raise BadLink(LinkRefusal.INVALID) from None
    alumnus = _find(payload)
    if alumnus is None:
        if _well_formed(payload):
            return None
        raise BadLink(LinkRefusal.INVALID)
    return None if alumnus.is_erased else Link(kind, alumnus, payload[1], tuple(payload[2:]))


def unverified_subject(token: str) -> str:
    """The person a token names, read WITHOUT checking its signature: only a key to count
    requests by (a forged one counts against a person nobody can reach)."""
    try:
        payload = json.loads(base64_decode(token.partition(".")[0]))
        return str(payload[0]) if isinstance(payload, list) and payload else ""
    except (BadData, ValueError, UnicodeError):
        return ""


def _payload_or_none(serializer: URLSafeTimedSerializer, error: SignatureExpired) -> object:
    try:
        return serializer.load_payload(error.payload) if error.payload is not None else None
    except BadData:
        return None


def _well_formed(payload: object) -> bool:
    return (
        isinstance(payload, list)
        and len(payload) >= 2
        and isinstance(payload[0], str)
        and isinstance(payload[1], int)
    )


def _on_file(alumnus: Alumnus | None) -> Alumnus | None:
    """The person, unless erased: a refusal may then answer in their language."""
    return None if alumnus is None or alumnus.is_erased else alumnus


def _find(payload: object) -> Alumnus | None:
    if not _well_formed(payload):
        return None
    assert isinstance(payload, list)
    return db.session.scalar(sa.select(Alumnus).where(Alumnus.subject_id == payload[0]))
