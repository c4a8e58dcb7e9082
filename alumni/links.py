"""Signed links in emails: one salt per kind, a payload of opaque id plus link version.

A link dies when it is older than ``LINK_MAX_AGE_DAYS``, when the person is erased, or when
their address changes (the version in the link no longer matches). A link of one kind never
works as another, because each kind is signed with its own salt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, SignatureExpired, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

from alumni.extensions import db
from alumni.models import Alumnus


class LinkKind(StrEnum):
    OPTIN = "optin"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    MY_DATA = "my-data"


# The endpoint that each kind of link opens.
ENDPOINTS = {
    LinkKind.OPTIN: "alumni.optin",
    LinkKind.PREFERENCES: "alumni.preferences",
    LinkKind.MY_DATA: "alumni.my_data",
    LinkKind.UNSUBSCRIBE: "alumni.unsubscribe",
}


def max_age_seconds(kind: LinkKind) -> int:
    """Opt-out links keep working long after the mail was sent; the others for a month."""
    days_key = "UNSUBSCRIBE_MAX_AGE_DAYS" if kind is LinkKind.UNSUBSCRIBE else "LINK_MAX_AGE_DAYS"
    return current_app.config[days_key] * 86400


class BadLink(Exception):
    """A link that cannot be used. ``expired`` links answer 410, the others 400."""

    def __init__(self, reason: str, alumnus: Alumnus | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired" or "revoked"
        self.alumnus = alumnus

    @property
    def status_code(self) -> int:
        return 400 if self.reason == "invalid" else 410


@dataclass(frozen=True)
class Link:
    alumnus: Alumnus
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
            kind: adapter.build(endpoint, {"token": "T"}).removesuffix("T")
            for kind, endpoint in ENDPOINTS.items()
        }
        current_app.extensions["link_paths"] = paths
    return paths


def read_token(kind: LinkKind, token: str) -> Link:
    """Verify a token and find its alumnus, or raise ``BadLink``."""
    serializer = _serializer(kind)
    try:
        payload = serializer.loads(token, max_age=max_age_seconds(kind))
    except SignatureExpired as expired:
        # The signature is genuine, so the payload is ours: use it to answer in their language.
        alumnus = _find(_payload_or_none(serializer, expired))
        raise BadLink("expired", alumnus if alumnus and not alumnus.is_erased else None) from None
    except (BadData, UnicodeError, ValueError):
        raise BadLink("invalid") from None
    alumnus = _find(payload)
    if alumnus is None or alumnus.is_erased or alumnus.link_version != payload[1]:
        raise BadLink("revoked", alumnus if alumnus and not alumnus.is_erased else None)
    return Link(alumnus, tuple(payload[2:]))


def _payload_or_none(serializer: URLSafeTimedSerializer, error: SignatureExpired) -> object:
    try:
        return serializer.load_payload(error.payload) if error.payload is not None else None
    except BadData:
        return None


def _find(payload: object) -> Alumnus | None:
    if not (
        isinstance(payload, list)
        and len(payload) >= 2
        and isinstance(payload[0], str)
        and isinstance(payload[1], int)
    ):
        return None
    return db.session.scalar(sa.select(Alumnus).where(Alumnus.subject_id == payload[0]))
