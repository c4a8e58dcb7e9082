"""Markdown written by staff (a campaign's body, a privacy notice) to HTML with only harmless
tags: raw HTML is off in the parser, and nh3 keeps an allow-list of what is left."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "hr",
}


def render_markdown(markdown: str) -> str:
    """Markdown to HTML with only harmless tags; links get no referrer and no opener."""
    html = _markdown.render(markdown)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
