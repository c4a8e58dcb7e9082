"""How a page reached by a link opens it. The page decides the kind of link it takes, and
``alumni.people.links.CAPABILITIES`` what that kind may do: views never choose a kind themselves."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import refresh
from limits import parse_many

from alumni.extensions import limiter
from alumni.people.links import (
    Link,
    LinkKind,
    kind_of_page,
    link_url,
    may_hand_out,
    read_one_click,
    read_token,
)


class NotHandedOut(RuntimeError):
    """A page tried to give out a link its own link may not lead to: a bug, never shown."""


def open_link(token: str) -> Link:
    """The link of this page, checked as ``read_token`` does; pages then speak the person's
    language."""
    link = read_token(kind_of_page(request.endpoint), token)
    _opened(link)
    return link


def open_one_click(token: str) -> Link | None:
    """The link of this page for its one-click POST (``read_one_click``): None when nothing
    is left to stop."""
    link = read_one_click(kind_of_page(request.endpoint), token)
    if link is not None:
        _opened(link)
    return link


def onward_url(kind: LinkKind) -> str:
    """A ``kind`` link for the person of this page's link, if its capability hands one out."""
    link: Link = g.link
    if not may_hand_out(link.kind, kind):
        raise NotHandedOut(f"a page opened by a {link.kind} link may not hand out a {kind} link")
    return relative(link_url(kind, link.alumnus))


def relative(url: str) -> str:
    """A link made for email, as a path on this site (the site may run on another host)."""
    return url.removeprefix(current_app.config["BASE_URL"])


def within_limit(setting: str, *key: str) -> bool:
    """Count one request against the rate limit in ``setting`` for ``key`` (limits that only
    some outcomes of a view spend); False once it is spent."""
    if not limiter.enabled:
        return True
    spent = [limiter.limiter.hit(item, *key) for item in parse_many(current_app.config[setting])]
    return all(spent)


def _opened(link: Link) -> None:
    g.link = link
    g.alumnus = link.alumnus  # the language of the pages
    refresh()
