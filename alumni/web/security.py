"""Response headers that keep the privacy promise: no third-party resource, no leaking links."""

from __future__ import annotations

from flask import Flask, Response, request

# Pages load only our own files. Tokens live in URLs, so no Referer ever leaves a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.endpoint and request.endpoint.startswith("alumni."):
            # Personal data: never kept by a browser cache or a proxy.
            response.headers["Cache-Control"] = "no-store"
        return response
