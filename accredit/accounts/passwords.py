"""Password policy and hashing: plain rules, no request or database."""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib import resources
from itertools import pairwise

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256  # long enough for any passphrase, short enough to hash cheaply

# Words that make up most weak passwords once digits and symbols are stripped.
_WEAK_STEMS = {
    "password", "passw0rd", "qwerty", "letmein", "welcome", "iloveyou", "admin",
    "administrator", "monkey", "dragon", "football", "sunshine", "princess",
    "changeme", "secret", "accredit",
}  # fmt: skip


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, lower-cased."""
    text = resources.files("accredit.accounts").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _is_sequence(password: str) -> bool:
    codes = [ord(character) for character in password.lower()]
    steps = {second - first for first, second in pairwise(codes)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Return why a password is not acceptable, in words a user can act on; empty if it is."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be {MIN_LENGTH} characters or more")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    lowered = password.lower()
    stem = re.sub(r"[^a-z]", "", lowered)
    if lowered in common_passwords() or stem in _WEAK_STEMS or _is_sequence(password):
        problems.append("Password is too common. Choose something harder to guess")
    if email:
        local_part = email.lower().split("@", 1)[0]
        if lowered == email.lower() or (len(local_part) >= 4 and local_part in lowered):
            problems.append("Password must not contain your email address")
    return problems


class Hasher:
    """argon2id hashing with the service's cost settings."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._decoy: str | None = None
        self._lock = threading.Lock()

    @property
    def decoy(self) -> str:
        """A hash of a throwaway value, so unknown emails cost the same as known ones.

        Made on first use, not at start-up: a worker or a command that never signs
        anyone in never pays for it (argon2's memory cost makes it the biggest
        allocation at start).
        """
        if self._decoy is None:
            with self._lock:
                if self._decoy is None:
                    self._decoy = self._hasher.hash("decoy password for unknown accounts")
        return self._decoy

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
