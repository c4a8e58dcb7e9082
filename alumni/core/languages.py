"""Language: Dutch by default, English complete; the alumnus's own choice, else the browser's."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import get_locale

from alumni.extensions import babel


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the default, Dutch
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    alumnus = g.get("alumnus")
    if alumnus is not None and alumnus.locale in languages:
        return alumnus.locale
    return request.accept_languages.best_match(languages) or current_app.config["LANGUAGES"][0]


def current_locale() -> str:
    return str(get_locale() or "nl")


def this_page_in(language: str) -> str:
    """The current page in another language (a query parameter: a GET never stores it)."""
    return url_for(request.endpoint or "alumni.link", **(request.view_args or {}), lang=language)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_locale=current_locale, this_page_in=this_page_in)
