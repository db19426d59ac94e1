"""Cell text to canonical text, using the vocabulary the mapping entry declares.

Only the connector knows which file used `31.12.2024` and which `12/31/2024`, or that `Пробит` is
a completed receipt, so the mapping-specific reading happens here and staging only casts:
dates become ISO text, consent and subscription-status cells granted/revoked/none, amounts a plain
decimal, statuses complete/cancelled/returned. A value that does not fit is returned as `None` and
the caller decides (a member keeps an unreadable date for staging to flag; an unknown consent word
or an order without a date or amount quarantines the row).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from connectors.spreadsheets.mapping import fold

ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


@lru_cache(maxsize=200_000)
def parse_date(text: str, formats: tuple[str, ...]) -> str | None:
    """ISO date (`YYYY-MM-DD`) or datetime (`YYYY-MM-DD HH:MM:SS`), whichever the format carries."""
    text = text.strip()
    for fmt in (*formats, *ISO_FORMATS):
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        has_time = any(d in fmt for d in ("%H", "%I", "%M", "%S"))
        return value.strftime("%Y-%m-%d %H:%M:%S" if has_time else "%Y-%m-%d")
    return None


def parse_consent(text: str, vocabulary: dict[str, str]) -> str | None:
    """granted / revoked / none (a known word that is no consent event); None for an unknown word."""
    return vocabulary.get(fold(text))


_MONEY_NOISE = re.compile(r"[\s\u00a0\u202f'₽$€]|руб\.?|р\.|rub", re.IGNORECASE)


@lru_cache(maxsize=200_000)
def parse_amount(text: str) -> str | None:
    """`3 480,00`, `3480.5`, `1.234,50`, `1,234.50 руб.` -> `3480.00`-style text; None if not a number.

    With one kind of separator it is the decimal point (1C and ru-RU Excel write `,`); with both,
    the last one is, and the other groups thousands. Excel's exponent form (`7,91E+10`) is read
    within Excel's own range (1E±308): `1E+999999999999999999` is a valid Decimal, but writing it
    out would need an exabyte and stop the run, and no amount has more digits than that.
    """
    s = _MONEY_NOISE.sub("", text)
    if not s:
        return None
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    elif s.count(".") > 1 or s.count(",") > 1:
        s = s.replace(".", "").replace(",", "")
    if s.startswith("(") and s.endswith(")"):  # accounting negative
        s = "-" + s[1:-1]
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite() or not -340 <= value.adjusted() <= 308:
        return None
    return format(value, "f")


def parse_status(text: str, vocabulary: dict[str, str], default: str | None) -> str | None:
    folded = fold(text)
    if not folded:
        return default
    return vocabulary.get(folded)
