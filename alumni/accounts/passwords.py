"""How guessable a new password is: zxcvbn, told the person's email address and the
organisation's name, and its feedback in our own translated words."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

# zxcvbn's scale: 3 is "safely unguessable" (about 10^10 guesses), safe against an online attack
# and a throttled offline one.
MIN_SCORE = 3
# zxcvbn refuses longer input (its time grows quickly with the length); a longer password is
# judged by its start, which is never stronger than the whole.
ZXCVBN_MAX_LENGTH = 72
# Shorter parts of a name or address ("de", "jr") would match inside ordinary words.
MIN_INPUT_LENGTH = 3

# zxcvbn keeps the user inputs in a module-level dictionary while it measures: one at a time,
# or a request could measure its password against another person's name.
_zxcvbn_lock = threading.Lock()

# zxcvbn's feedback (English, not translated by the package) in our words; a text that is not
# here is left out rather than shown in English on a Dutch page.
FEEDBACK = {
    "This is a top-10 common password.": _l("It is one of the ten most used passwords."),
    "This is a top-100 common password.": _l("It is one of the hundred most used passwords."),
    "This is a very common password.": _l("It is a very common password."),
    "This is similar to a commonly used password.": _l("It looks like a much used password."),
    "A word by itself is easy to guess.": _l("A single word is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l("A name by itself is easy to guess."),
    "Common names and surnames are easy to guess.": _l("Common names are easy to guess."),
    "Straight rows of keys are easy to guess.": _l(
        "A straight row of keys (like qwerty) is easy to guess."
    ),
    "Short keyboard patterns are easy to guess.": _l("Keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        'Repeats like "abcabc" are hardly harder to guess than "abc".'
    ),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are easy to guess."),
    "Add another word or two. Uncommon words are better.": _l(
        "Add another word or two; uncommon words are better."
    ),
    "Use a few words, avoid common phrases.": _l("Use a few words, no common phrases."),
    "Use a longer keyboard pattern with more turns.": _l(
        "Avoid keyboard patterns; use a few unrelated words."
    ),
    "Avoid repeated words and characters.": _l("Avoid repeated words and characters."),
    "Avoid sequences.": _l("Avoid sequences."),
    "Avoid recent years.": _l("Avoid recent years."),
    "Avoid years that are associated with you.": _l("Avoid years that have to do with you."),
    "Avoid dates and years that are associated with you.": _l(
        "Avoid dates and years that have to do with you."
    ),
    "Capitalization doesn't help very much.": _l("A capital letter does not help much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l(
        "All capitals are almost as easy to guess as no capitals."
    ),
    "Reversed words aren't much harder to guess.": _l(
        "A word spelt backwards is hardly harder to guess."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": _l(
        "Predictable substitutions like '@' for 'a' do not help much."
    ),
}

PERSONAL = _l("It is built on your name or email address, or on the organisation's name.")


@dataclass(frozen=True)
class Weakness:
    """Why a password is too easy to guess: zxcvbn's score and our translated feedback."""

    score: int
    feedback: tuple[object, ...]  # lazy translations; str() them when shown


def user_inputs(email: str | None, organisation: str | None) -> list[str]:
    """What an attacker who knows the person and the school tries first: the address, its
    parts (names), the domain's labels, and the organisation's name whole and word by word."""
    words: list[str] = []
    for value in (email, organisation):
        if not value:
            continue
        value = value.strip().lower()
        words.append(value)
        words.append(re.sub(r"[^\w]", "", value))
        words.extend(re.split(r"[^a-z]+", value))
    return _distinct(word for word in words if len(word) >= MIN_INPUT_LENGTH)


def weakness(password: str, inputs: Iterable[str] = ()) -> Weakness | None:
    """None when the password is hard enough to guess; else what makes it easy."""
    inputs = list(inputs)
    result = _measure(password, inputs)
    sequence = result["sequence"]
    personal = [match for match in sequence if match.get("dictionary_name") == "user_inputs"]
    if result["score"] >= MIN_SCORE and not personal:
        return None
    if personal:
        # Built on the person or the school: what is left must be hard to guess by itself,
        # or "DemoCollege2024" would pass (zxcvbn gives it a 3).
        rest = "".join(match["token"] for match in sequence if match not in personal)
        if _measure(rest, inputs)["score"] >= MIN_SCORE:
            return None
        return Weakness(result["score"], (PERSONAL, *_translated(result)))
    return Weakness(result["score"], tuple(_translated(result)))


def _measure(password: str, inputs: list[str]) -> dict:
    with _zxcvbn_lock:
        return zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)


def _translated(result: dict) -> list[object]:
    feedback = result["feedback"]
    texts = _distinct([feedback["warning"], *feedback["suggestions"]])
    return [FEEDBACK[text] for text in texts if text in FEEDBACK]


def _distinct(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
