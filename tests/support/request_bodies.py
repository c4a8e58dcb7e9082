"""Request bodies for size tests: produced as they are read, and counting what was read."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

MB = 1024 * 1024


class CountingBody(io.RawIOBase):
    """``size`` bytes (``start``, then filler) made as they are read; ``read_count`` says how
    many the app took. Nothing of it is ever held in memory whole."""

    def __init__(self, size: int, start: bytes = b"", filler: bytes = b"a") -> None:
        self.size = size
        self.start = start
        self.filler = filler
        self.read_count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.read_count)
        if count <= 0:
            return 0
        head = self.start[self.read_count : self.read_count + count]
        buffer[: len(head)] = head
        buffer[len(head) : count] = self.filler * (count - len(head))
        self.read_count += count
        return count


def send_body(
    client: FlaskClient,
    url: str,
    body: CountingBody,
    content_type: str,
    *,
    chunked: bool = False,
    **kwargs: Any,
) -> Any:
    """POST ``body`` as a server hands it to the app: with its length, or chunked (no length;
    the server ends the stream, as gunicorn and Werkzeug's server say with
    ``wsgi.input_terminated``)."""
    # Set in the environ, not through the test client, which would encode a body of its own.
    environ: dict[str, Any] = {"wsgi.input": body, "CONTENT_TYPE": content_type}
    if chunked:
        environ |= {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    return client.post(url, environ_overrides=environ, **kwargs)
