"""Identifiers for ad platforms: an address normalised by the platform's rules, then hashed.

The audiences themselves are hashed in SQL (the dbt audience models); this module is the reference
the SQL is tested against and the check a client runs on what it is about to upload. The rules
(../shared/specs/destinations.md §4, §5, §7):

- e-mail: trimmed and lower-cased. Yandex asks for "Latin, no uppercase", so an internationalised
  domain (`пример.рф`) is sent in its ASCII form (`xn--e1afmkfd.xn--p1ai`); for every other address
  that is the same as trim + lower. No Gmail dot-stripping: that is Google's rule only.
- phone: digits with the country code and no `+` (`79995551111`), parsed with libphonenumber for
  region RU, so `8 (999) 555-11-11`, `+7 999 555 11 11` and `9995551111` agree and `+7 7…` stays
  Kazakh. A value libphonenumber does not call a valid number gives None: it is never guessed.
- one value per hash, lower-case hex: SHA-256 for Yandex Audience (MD5 is refused for new data
  since January 2025), MD5 for VK Ads (its lists take plain values or MD5 sums).

Work is per value (the parsers) and hashlib over a list: fine for a client's
check of one upload; the customer base is hashed in the warehouse.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Literal

from cdp.normalize import parse_email, parse_phone

AddressType = Literal["email", "phone"]
Algorithm = Literal["sha256", "md5"]

HEX_LENGTH = {"sha256": 64, "md5": 32}
_HEX = {alg: re.compile(rf"^[0-9a-f]{{{n}}}$") for alg, n in HEX_LENGTH.items()}


def normalize_email(raw: str | None) -> str | None:
    """Trim + lower case, the domain in ASCII; None if it is not an address."""
    return parse_email(raw).ascii if isinstance(raw, str) else None


def normalize_phone(raw: str | None) -> str | None:
    """Digits with the country code, no `+` (`79995551111`); None if not a valid number."""
    if not isinstance(raw, str):
        return None
    e164 = parse_phone(raw).e164
    return e164[1:] if e164 else None


def normalize(address_type: AddressType, values: Iterable[str | None]) -> list[str | None]:
    norm = normalize_email if address_type == "email" else normalize_phone
    return [norm(v) for v in values]


def digest(algorithm: Algorithm, values: Iterable[str | None]) -> list[str | None]:
    """Lower-case hex of each already-normalised value (None stays None)."""
    new = hashlib.sha256 if algorithm == "sha256" else hashlib.md5
    return [new(v.encode("utf-8")).hexdigest() if v is not None else None for v in values]


def split_form(form: str) -> tuple[AddressType, Algorithm | None]:
    """`email_sha256` → ("email", "sha256"); `phone` → ("phone", None). Forms: cdp/destinations.py."""
    address_type, _, algorithm = form.partition("_")
    if address_type not in ("email", "phone") or algorithm not in ("", "sha256", "md5"):
        raise ValueError(f"unknown identifier form {form!r}")
    return address_type, (algorithm or None)  # type: ignore[return-value]


def identifiers(form: str, values: Iterable[str | None]) -> list[str | None]:
    """Raw addresses to what a platform keys members by, in one of the IDENTIFIER_FORMS."""
    address_type, algorithm = split_form(form)
    normalised = normalize(address_type, values)
    return digest(algorithm, normalised) if algorithm else normalised


def is_hash(algorithm: Algorithm, value: str) -> bool:
    """A lower-case hex digest of the algorithm's length: what a client checks before uploading,
    so an address in clear never leaves for a platform that was promised hashes."""
    return bool(_HEX[algorithm].match(value))


def not_hashes(algorithm: Algorithm, values: Iterable[str]) -> int:
    """How many values are not hashes of that algorithm (the count only: never the values)."""
    pattern = _HEX[algorithm]
    return sum(1 for v in values if not pattern.match(v))
