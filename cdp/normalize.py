"""Identifier normalisation with libphonenumber's rules for Russia.

`8 (912) 345-67-89`, `+7 912 3456789`, `79123456789` and `9123456789` all become `+79123456789`;
`+7 7…` stays Kazakh (`+77…`), `8 800…` is toll-free, and anything libphonenumber does not call a
valid number is flagged with a reason, never guessed.
"""

from __future__ import annotations

import hashlib
import re
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
        return Phone(None, f"unparseable: {exc.error_type.name.lower()}")
    if not phonenumbers.is_valid_number(number):
        return Phone(None, "not a valid number for its country")
    kind = _TYPE_NAMES.get(phonenumbers.number_type(number), "other")
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None, kind,
                 phonenumbers.region_code_for_number(number))


def normalize_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip().lower()
    return text or None


_PATRONYMIC = re.compile(r"(вич|вна|ична|инична|ьич|оглы|кызы)$")


@lru_cache(maxsize=1)
def _given_names() -> frozenset[str]:
    from importlib.resources import files

    text = files("cdp").joinpath("given_names_ru.txt").read_text(encoding="utf-8")
    return frozenset(fold(line) for line in text.split() if line)


def fold(text: str) -> str:
    """Matching form only: lower case, `ё`→`е`. Display values keep what the source wrote."""
    return text.lower().replace("ё", "е")


class PersonName(NamedTuple):
    surname: str | None
    given_name: str | None
    patronymic: str | None


@lru_cache(maxsize=500_000)
def split_name(full: str | None) -> PersonName:
    """'Иванов Иван Иванович', 'Иван Иванов', 'ИВАНОВ ИВАН' → (surname, given, patronymic), whatever
    the order: a patronymic is recognised by its suffix, a given name by a dictionary of Russian
    first names, and the remaining word is the surname. Case is restored to Title case."""
    if not full or not full.strip():
        return PersonName(None, None, None)
    words = [w.strip(".,") for w in full.split() if w.strip(".,")]
    words = [w[:1].upper() + w[1:].lower() if (w.isupper() or w.islower()) else w for w in words]
    patronymic = next((w for w in words if _PATRONYMIC.search(fold(w))), None)
    rest = [w for w in words if w is not patronymic]
    names = _given_names()
    given = next((w for w in rest if fold(w) in names), None)
    others = [w for w in rest if w is not given]
    if given is None and others:
        # Unknown first name: Russian order is "surname given" in lists, "given surname" in speech;
        # with a patronymic present the order is surname-first, otherwise assume given-first.
        given = others.pop(1 if (patronymic and len(others) > 1) else 0) if len(others) > 1 else None
    surname = " ".join(others) or None
    return PersonName(surname, given, patronymic)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
