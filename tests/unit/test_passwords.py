"""The password policy, and sign-in text made storable, as plain rules."""

from __future__ import annotations

import pytest

from accredit.accounts.passwords import Hasher, password_problems
from accredit.accounts.service import storable


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-one", "12 characters or more"),
        ("password1234", "too common"),
        ("Password2024!", "too common"),
        ("qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("abcdefghijklmnop", "too common"),
        ("sam.okafor@example.org", "must not contain your email"),
        ("xx-sam.okafor-99-long", "must not contain your email"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, problem):
    problems = password_problems(password, email="sam.okafor@example.org")
    assert any(problem in text for text in problems), problems


def test_a_passphrase_is_accepted():
    assert password_problems("tidal-saffron-keystone", email="sam@example.org") == []


def test_hasher_uses_argon2id_and_verifies():
    hasher = Hasher(time_cost=1, memory_kib=8)
    hashed = hasher.hash("tidal-saffron-keystone")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify(hashed, "tidal-saffron-keystone")
    assert not hasher.verify(hashed, "tidal-saffron-keystonE")
    assert not hasher.verify("not a hash", "anything")


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("someone@example.org", "someone@example.org"),
        ("nul\x00byte", "nul\ufffdbyte"),
        ("lone\udc80surrogate", "lone\ufffdsurrogate"),
        ("café@example.org", "café@example.org"),
    ],
)
def test_sign_in_text_is_made_storable_on_every_database(text, stored):
    assert storable(text) == stored
    stored.encode("utf-8")  # PostgreSQL takes only valid UTF-8
