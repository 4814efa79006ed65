"""Passwords of local accounts: Argon2id hashes through argon2-cffi (constant-time verification by the
library), the length rules a password must meet, and generated passwords for the bootstrap ``admin``.
A password is never quoted in a message."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gitloop.errors import UsageError

MIN_LENGTH = 8
MAX_BYTES = 1024
_DEFAULT = PasswordHasher()


def check_password(password: str) -> str:
    """``password`` when it meets the rules (at least 8 characters, at most 1024 bytes); else
    ``UsageError`` saying which rule, never the password."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"password: must be at least {MIN_LENGTH} characters long")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise UsageError(f"password: must be at most {MAX_BYTES} bytes long")
    return password


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """The Argon2id hash (PHC string) of ``password``, after ``check_password``."""
    return (hasher or _DEFAULT).hash(check_password(password))


def verify_password(hashed: str, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``password`` matches ``hashed``. False, never an exception, for a wrong password, an
    over-long one or an unreadable hash."""
    if len(password.encode("utf-8")) > MAX_BYTES:
        return False
    try:
        return (hasher or _DEFAULT).verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``hashed`` was made with other parameters than the hasher's (rehash on the next login)."""
    try:
        return (hasher or _DEFAULT).check_needs_rehash(hashed)
    except InvalidHashError:
        return True


def generate_password() -> str:
    """A new random password: 24 URL-safe characters (18 random bytes)."""
    return secrets.token_urlsafe(18)
