"""Identifier normalisation with libphonenumber's rules for Russia (names: cdp/names.py).

`8 (912) 345-67-89`, `+7 912 3456789`, `79123456789` and `9123456789` all become `+79123456789`;
`+7 7…` stays Kazakh (`+77…`), `8 800…` is toll-free, and anything libphonenumber does not call a
valid number is flagged with a reason, never guessed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberType

_TYPE_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.VOIP: "voip",
}


# NumberParseException.error_type is a plain int in the Python port.
_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "invalid country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


class Phone(NamedTuple):
    e164: str | None
    issue: str | None
    kind: str | None = None
    region: str | None = None


@lru_cache(maxsize=1_000_000)
def parse_phone(raw: str | None, region: str = "RU") -> Phone:
    if raw is None or not raw.strip():
        return Phone(None, None)
    text = raw.strip()
    if not re.search(r"\d", text):
        return Phone(None, "no digits")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return Phone(None, f"unparseable: {_PARSE_ERRORS.get(exc.error_type, 'not a number')}")
    except Exception as exc:  # noqa: BLE001 - one odd value must never fail the run
        return Phone(None, f"unparseable: {type(exc).__name__}")
    if not phonenumbers.is_valid_number(number):
        return Phone(None, "not a valid number for its country")
    kind = _TYPE_NAMES.get(phonenumbers.number_type(number), "other")
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None, kind,
                 phonenumbers.region_code_for_number(number))


def parse_phones(values: list[str | None], region: str = "RU") -> list[Phone]:
    """Many phones at once, one parse per distinct spelling (the callers pass distinct values)."""
    return [parse_phone(v, region) if isinstance(v, str) else Phone(None, None) for v in values]


def normalize_email(raw: str | None) -> str | None:
    """The matching form of an e-mail address (`Email.address`), or None."""
    return parse_email(raw).address


class Email(NamedTuple):
    address: str | None  # matching form: trimmed, lower case, domain in Unicode (иван@пример.рф)
    ascii: str | None  # the domain as the DNS writes it (xn--...), for destinations that need ASCII
    issue: str | None


_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}$")
_LABEL = re.compile(r"^[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?$")
_TLD = re.compile(r"^(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})$")


@lru_cache(maxsize=1_000_000)
def parse_email(raw: str | None) -> Email:
    """Trim, lower-case and check an address; internationalised domains (.рф, or the same in
    punycode `xn--p1ai`) are valid and both spellings get one matching form. Never raises: a
    value that is not an address gets a reason instead."""
    if raw is None or not raw.strip():
        return Email(None, None, None)
    text = unicodedata.normalize("NFC", raw.strip().lower())
    if text.count("@") != 1:
        return Email(None, None, "not an e-mail address")
    local, domain = text.split("@")
    domain = domain.rstrip(".")
    try:
        unicode_domain = domain.encode("idna").decode("idna").lower()
        ascii_domain = unicode_domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return Email(None, None, "not an e-mail address")
    labels = unicode_domain.split(".")
    if (not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local
            or len(labels) < 2 or not all(_LABEL.match(label) for label in labels)
            or not _TLD.match(ascii_domain.rsplit(".", 1)[-1])):
        return Email(None, None, "not an e-mail address")
    return Email(f"{local}@{unicode_domain}", f"{local}@{ascii_domain}", None)


def parse_emails(values: list[str | None]) -> list[Email]:
    return [parse_email(v) if isinstance(v, str) else Email(None, None, None) for v in values]


def fold(text: str) -> str:
    """Matching form only: lower case, `ё`→`е`. Display values keep what the source wrote."""
    return text.lower().replace("ё", "е")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# Mail domains people mistype most; a repair is only ever proposed towards one of these.
KNOWN_MAIL_DOMAINS = ("mail.ru", "gmail.com", "yandex.ru", "ya.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
                      "icloud.com", "outlook.com", "hotmail.com", "yahoo.com", "yandex.com", "internet.ru", "me.com")


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one edit: gmial -> gmail)."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


class EmailRepair(NamedTuple):
    address: str | None  # the repaired matching form, or None when no repair applies
    repair: str | None  # what was changed, e.g. "domain gmial.com -> gmail.com"


@lru_cache(maxsize=1_000_000)
def repair_email(raw: str | None) -> EmailRepair:
    """A candidate for what a mistyped address meant, only towards a well-known mail domain:
    `@@`, spaces, a comma for a dot, a cut or doubled top-level domain (`mail.r`, `mail.ru.ru`) and
    one-or-two-letter slips (`gmial.com`, `yandex.ry`, `gmail.co`). The repair is a candidate, not
    a fact: identity links a repaired address only when something else agrees (the name)."""
    if raw is None or not raw.strip():
        return EmailRepair(None, None)
    text = unicodedata.normalize("NFC", raw.strip().lower())
    changes = []
    cleaned = re.sub(r"\s+", "", text)
    cleaned = re.sub(r"@+", "@", cleaned)
    if cleaned != text:
        changes.append("stray characters")
    if cleaned.count("@") != 1:
        return EmailRepair(None, None)
    local, domain = cleaned.split("@")
    fixed = domain.replace(",", ".").strip(".")
    fixed = re.sub(r"\.{2,}", ".", fixed)
    if fixed not in KNOWN_MAIL_DOMAINS:
        doubled = re.sub(r"(\.[a-z]{2,3})\1$", r"\1", fixed)
        if doubled in KNOWN_MAIL_DOMAINS:
            fixed = doubled
        else:
            best = min(KNOWN_MAIL_DOMAINS, key=lambda d: (_edits(fixed, d), d))
            distance = _edits(fixed, best)
            if distance <= (2 if len(best) >= 8 else 1) and _edits(fixed.split(".")[0], best.split(".")[0]) <= 2:
                fixed = best
    if fixed not in KNOWN_MAIL_DOMAINS:
        return EmailRepair(None, None)
    if fixed != domain:
        changes.append(f"domain {domain} -> {fixed}")
    if not changes:
        return EmailRepair(None, None)
    repaired = parse_email(f"{local}@{fixed}").address
    if repaired is None or repaired == parse_email(raw).address:
        return EmailRepair(None, None)
    return EmailRepair(repaired, "; ".join(changes))


def repair_emails(values: list[str | None]) -> list[EmailRepair]:
    return [repair_email(v) if isinstance(v, str) else EmailRepair(None, None) for v in values]
