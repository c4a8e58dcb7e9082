"""Request bodies: at most ``MAX_CONTENT_LENGTH`` bytes, refused (413) before they are read.

A view that takes larger bodies (the staff import) raises ``request.max_content_length`` in a
``url_value_preprocessor``: those run before every ``before_request`` function, and CSRFProtect
and the rate limiter's key functions read the form in theirs.
"""

from __future__ import annotations

import io
from functools import cached_property
from typing import IO, Any

import flask
from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge


class Request(flask.Request):
    """Flask's request, which also closes the files of a multipart body whose parsing stopped
    half-way (over the limit, or the client went away): Werkzeug leaves those to the garbage
    collector."""

    @cached_property
    def _file_streams(self) -> list[IO[bytes]]:
        return []

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        stream = super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )
        self._file_streams.append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.get("_file_streams", ()):
            stream.close()


class CappedStream(io.RawIOBase):
    """A body of unknown length (chunked) that fails with 413 once it proves longer than
    ``limit``.

    Werkzeug's own ``LimitedStream`` stops a full read at the limit without an error, so a
    longer urlencoded or JSON body would be parsed as if it ended there.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = self.limit - self.count
        if room <= 0:
            return 0
        data = self.stream.read(min(len(buffer), room))
        buffer[: len(data)] = data
        self.count += len(data)
        # At the limit, one byte more tells a body of exactly the limit from a longer one.
        if self.count >= self.limit and self.stream.read(1):
            raise RequestEntityTooLarge()
        return len(data)


def refuse_oversize_body() -> None:
    """A declared ``Content-Length`` over the limit is answered 413 before any hook runs, so
    the answer does not depend on which hook or view reads the body first; a body of unknown
    length is cut off with 413 as soon as it is read past the limit."""
    limit = request.max_content_length
    if limit is None:
        return
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    # Only a server that ends the stream itself (chunked bodies) lets Werkzeug read one
    # without a length; without this flag such a body reads as empty.
    if length is None and "wsgi.input_terminated" in request.environ:
        request.environ["wsgi.input"] = CappedStream(request.environ["wsgi.input"], limit)


def init_app(app: Flask) -> None:
    app.request_class = Request
    # Registered before CSRFProtect and the rate limiter, whose hooks read the form.
    app.before_request(refuse_oversize_body)
