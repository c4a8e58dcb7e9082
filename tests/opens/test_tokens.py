"""The pixel token: random, verifiable without being stored, and not forgeable."""

from __future__ import annotations

import base64

import pytest

from alumni.opens.tokens import TOKEN_LENGTH, make_token, parse_token, without_pixel

KEY = "a" * 64
OTHER_KEY = "b" * 64


def test_a_token_carries_its_campaign_and_verifies_under_its_key():
    text = make_token(7, KEY)
    assert len(text) == TOKEN_LENGTH
    token = parse_token(text)
    assert token is not None
    assert token.campaign_id == 7
    assert token.is_signed_with(KEY)
    assert not token.is_signed_with(OTHER_KEY)


def test_every_token_is_new():
    tokens = {make_token(1, KEY) for _ in range(1000)}
    assert len(tokens) == 1000
    assert len({parse_token(text).nonce for text in tokens}) == 1000


def test_the_digest_gives_nothing_of_the_token_back():
    text = make_token(3, KEY)
    token = parse_token(text)
    assert len(token.digest) == 32
    int(token.digest, 16)  # hex
    for part in (text, token.nonce.hex(), token.mac.hex()):
        assert token.digest not in part and part not in token.digest
    assert token.digest == parse_token(text).digest  # the same token, the same digest


def flip(text: str, position: int) -> str:
    """The token with the bit of one byte flipped (the rest stays valid base64)."""
    raw = bytearray(base64.urlsafe_b64decode(text))
    raw[position] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize(("position", "part"), [(3, "campaign"), (10, "nonce"), (30, "mac")])
def test_a_changed_token_does_not_verify(position, part):
    token = parse_token(flip(make_token(5, KEY), position))
    assert token is not None
    assert not token.is_signed_with(KEY), part


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "A" * 47,
        "A" * 49,
        "A" * 46 + "==",
        "!" * 48,
        "A" * 40 + "../../x",
        "A" * 47 + ".",
        "Ä" * 48,
        " " + "A" * 47,
    ],
)
def test_malformed_tokens_are_refused(text):
    assert parse_token(text) is None


def test_a_stored_copy_keeps_no_pixel_token():
    token = make_token(9, KEY)
    html = f'<p>Hoi</p><img src="https://alumni.example/o/{token}.gif" alt="">'
    kept = without_pixel(html)
    assert token not in kept
    assert kept == '<p>Hoi</p><img src="https://alumni.example/o/kept-out.gif" alt="">'
    assert parse_token("kept-out") is None  # the address left is never counted
