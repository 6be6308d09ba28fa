"""Password rules and hashing: one algorithm for real and dummy hashes, a length floor and a list of
common passwords shipped with the project (``data/common-passwords.txt.gz``, never fetched)."""

from __future__ import annotations

import functools
import gzip
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.errors import ValidationFailed

#: Shortest password accepted (NIST SP 800-63B asks for at least 8; the city asks for 10).
MIN_LENGTH = 10
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt.gz"


def hash_method() -> str:
    """The configured werkzeug method (``scrypt`` unless a test makes hashing cheap)."""
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=hash_method())


def dummy_hash() -> str:
    """A hash of a random password made with exactly the method and parameters of real hashes, so
    that checking a password for an unknown e-mail costs what checking a known one costs. Made once
    per method and process."""
    return _dummy_for(hash_method())


@functools.lru_cache(maxsize=4)
def _dummy_for(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(24), method=method)


def verify(password_hash: str | None, password: str) -> bool:
    """Check *password* against the account's hash, or against the dummy hash when there is no
    account (same cost either way; the answer is then always False)."""
    if password_hash is None:
        check_password_hash(dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def problem(password: str, *, email: str | None = None, name: str | None = None) -> str | None:
    """Why *password* is not acceptable, or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("密码至少 %(n)d 位。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("密码不能超过 %(n)d 位。", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in common_passwords():
        return _("该密码过于常见，容易被猜中，请换一个。")
    if len(set(password)) < 4:
        return _("密码过于简单（重复字符太多），请换一个。")
    local = (email or "").split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return _("密码不能包含邮箱名。")
    return None


def check_policy(password: str, field: str = "password", *, email: str | None = None,
                 name: str | None = None) -> None:
    """Raise :class:`ValidationFailed` on *field* when the password breaks the policy."""
    message = problem(password, email=email, name=name)
    if message:
        raise ValidationFailed(message, {field: [message]})
