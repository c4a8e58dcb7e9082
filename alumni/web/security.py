"""Response headers that keep the privacy promise: no third-party resource, no leaking links,
no browser feature the service does not use, and HTTPS only once a browser has seen it."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

# Pages load only our own files. Tokens live in URLs, so no Referer ever leaves a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Browser features no page of ours uses, switched off for every page and any frame in it
# (only names Chromium knows: an unknown one is an error in the console of every page).
# Passkeys (publickey-credentials-get and -create) are left at their default, this origin.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "interest-cohort",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)

# A year, subdomains too: set only when the cookies are Secure, i.e. the site is served on
# HTTPS (a development server on http://localhost must not pin itself to HTTPS).
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if request.endpoint and request.endpoint.startswith("alumni."):
            # Personal data: never kept by a browser cache or a proxy.
            response.headers["Cache-Control"] = "no-store"
        return response
