"""Keyed hashes: the same value gives the same hash under one key, and nothing else does."""

from __future__ import annotations

import pytest

from alumni.core.pseudonyms import (
    email_suppression_key,
    normalise_email,
    student_key,
    student_suppression_key,
)


def test_an_address_is_recognised_whatever_its_case_and_spaces(app):
    assert normalise_email("  Sanne@Alumni.Example ") == "sanne@alumni.example"
    assert email_suppression_key(" SANNE@alumni.example") == email_suppression_key(
        "sanne@alumni.example"
    )


def test_a_student_number_is_recognised_whatever_its_case(app):
    assert student_key(" s1001 ") == student_key("S1001")
    assert student_key("S1001") != student_key("S1002")


def test_the_kinds_of_hash_never_meet(app):
    """The same text as an address and as a student key gives different hashes."""
    assert email_suppression_key("x") != student_suppression_key("x")
    assert student_key("x") != student_suppression_key("x")


@pytest.mark.parametrize("setting", ["SUPPRESSION_KEY", "PSEUDONYM_KEY"])
def test_the_hash_depends_on_the_installation_key(app, setting):
    before = (email_suppression_key("a@b.example"), student_key("S1"))
    app.config[setting] = "another-key-" + "k" * 40
    after = (email_suppression_key("a@b.example"), student_key("S1"))
    changed = 0 if setting == "SUPPRESSION_KEY" else 1
    assert before[changed] != after[changed]
    assert before[1 - changed] == after[1 - changed]
    assert all(len(value) == 64 and "a@b" not in value for value in after)
