"""Identifier normalisation with libphonenumber's rules for Russia (names: cdp/names.py).

`8 (912) 345-67-89`, `+7 912 3456789`, `79123456789` and `9123456789` all become `+79123456789`;
`+7 7…` stays Kazakh (`+77…`), `8 800…` is toll-free, and anything libphonenumber does not call a
valid number is flagged with a reason, never guessed.

A whole value (a phone, an address) is parsed without a cache: the parse models hand each distinct
spelling over once per build (cdp/parse_cache.py), so a cache kept every answer alive for the rest
of the dbt process and never answered twice. At a million people caches of up to 1,000,000 answers
(these and cdp/names.py's whole names) held about 0.8 GiB beside DuckDB's budget through identity,
the consent marts and the 360 (docs/benchmarks/notes.md). What repeats across spellings is cached:
a mail domain, and in cdp/names.py a word.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
import pyarrow as pa
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


def phone_parser_version() -> str:
    """Changes whenever the phone rules can give another answer (this module, libphonenumber's
    metadata): a parse table stamped with another version is re-parsed (cdp/parse_cache.py)."""
    from cdp.parse_cache import rules_version

    return rules_version(__name__, "phonenumbers")


def email_parser_version() -> str:
    """As phone_parser_version, for parse_email and repair_email (IDNA is Python's own codec)."""
    import sys

    from cdp.parse_cache import rules_version

    python = f"python {sys.version_info[0]}.{sys.version_info[1]}"
    return f"{rules_version(__name__)}; {python}; unicode {unicodedata.unidata_version}"


PHONE_COLUMNS = ("phone_raw", "phone", "phone_issue", "phone_kind", "phone_region")

# The order libphonenumber's _number_type_helper tries the special types in, before fixed line and
# mobile; types without a name of ours are "other", as in parse_phone.
_SPECIAL_TYPES = [("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
                  ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
                  ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
                  ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL)]


@lru_cache(maxsize=4)
def _fast_rules(region: str):
    """libphonenumber's metadata for `region`, in the form the vectorised path needs, or None when
    the metadata breaks an assumption the fast path relies on (then every value takes the slow
    path, which is always right). The assumptions: the region is the main one for its country code
    and names the national numbers it owns by leading digits (RU: `[3489]`; `7…` is Kazakhstan's);
    the national prefix and the international prefix are plain digit strings (RU: `8`, `810`);
    a 10-digit national number is a possible length and not a local-only one."""
    from phonenumbers.phonemetadata import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(region, None)
    if meta is None:
        return None
    cc = str(meta.country_code)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
    prefix, idd, general = meta.national_prefix_for_parsing, meta.international_prefix, meta.general_desc
    if (not regions or regions[0] != region or meta.leading_digits is None or cc != "7"
            or not (prefix and prefix.isdigit()) or not (idd and idd.isdigit()) or meta.national_prefix_transform_rule
            or general is None or not general.national_number_pattern or 10 not in general.possible_length
            or 10 in (general.possible_length_local_only or ())):
        return None

    def desc_pattern(desc):
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and 10 not in desc.possible_length:
            return None
        return f"^(?:{desc.national_number_pattern})$"

    specials = [(_TYPE_NAMES.get(kind, "other"), desc_pattern(getattr(meta, name))) for name, kind in _SPECIAL_TYPES]
    return {
        "cc": cc, "prefix": prefix, "idd": idd,
        "general": f"^(?:{general.national_number_pattern})$",
        "leading": f"^(?:{meta.leading_digits})",
        "specials": [(kind, pattern) for kind, pattern in specials if pattern],
        "fixed": desc_pattern(meta.fixed_line), "mobile": desc_pattern(meta.mobile),
        "same_fixed_mobile": bool(meta.same_mobile_and_fixed_line_pattern),
    }


# Only plain ASCII spellings are decided without libphonenumber: digits, spaces, - ( ) . and one
# leading +. Anything else (letters, extensions, other scripts' digits, NBSP, unicode dashes) is
# libphonenumber's to read.
_FAST_SHAPE = r"^ *\+?[0-9 ().\-]*$"


def _fast_phones(values: pa.Array, region: str):
    """(mask, e164, kind) for the values decided without libphonenumber: mask over `values`, the
    other two only for the rows the mask selects, in order. Mirrors phonenumbers.parse +
    is_valid_number for a national number of 10 digits written as `+7 N`, `7N`, `8N` or `N`
    (the steps of parse named inline), and gives up (mask false) on everything else."""
    import pyarrow.compute as pc

    rules = _fast_rules(region)
    n = len(values)
    if rules is None or n == 0:
        return pa.repeat(False, n), pa.array([], pa.string()), pa.array([], pa.string())

    def match(arr, pattern):
        return pc.fill_null(pc.match_substring_regex(arr, pattern), False)

    # parse() refuses over 250 characters; strip() of a string of spaces and ASCII is strip(' ').
    shape = pc.and_(match(values, _FAST_SHAPE), pc.fill_null(pc.less_equal(pc.utf8_length(values), 250), False))
    rows = pc.indices_nonzero(shape)
    text = pc.take(values, rows)
    plus = match(text, r"^ *\+")
    digits = text
    for char in " -().+":  # literal passes beat one regex replace by ~5x
        digits = pc.replace_substring(digits, char, "")
    length = pc.utf8_length(digits)
    cc, prefix, idd = rules["cc"], rules["prefix"], rules["idd"]
    tail = pc.utf8_slice_codeunits(digits, 1)  # the digits after a leading 7 or 8
    # libphonenumber's "viable" (the general pattern, no length check) of the digits, of the
    # digits after the first and after the first two: every test below is one of these.
    viable_digits, viable_tail = match(digits, rules["general"]), match(tail, rules["general"])
    viable_tail_tail = match(pc.utf8_slice_codeunits(digits, 2), rules["general"])

    def keeps_prefix(national, viable_national, viable_rest):
        # _maybe_strip_national_prefix_carrier_code leaves a number that starts with the national
        # prefix alone only when the number is viable and the rest is not.
        kept = pc.and_(viable_national, pc.invert(viable_rest))
        return pc.or_(pc.invert(pc.starts_with(national, prefix)), kept)

    idd_led = pc.starts_with(digits, idd)
    eleven, ten = pc.equal(length, 11), pc.equal(length, 10)
    starts_cc, starts_prefix = pc.starts_with(digits, cc), pc.starts_with(digits, prefix)
    tail_keeps_prefix = keeps_prefix(tail, viable_tail, viable_tail_tail)
    # `+7 N`: the country code after the plus, then N keeps a leading 8 only as explained above.
    with_plus = pc.and_(pc.and_(plus, eleven), pc.and_(starts_cc, tail_keeps_prefix))
    # `7N` without a plus: the default country's code is taken off when 7N is not a viable national
    # number and N is (after the same prefix rule, applied twice by parse: same answer).
    with_cc = pc.and_(pc.and_(pc.invert(plus), eleven), pc.and_(starts_cc, tail_keeps_prefix))
    with_cc = pc.and_(with_cc, pc.and_(pc.invert(viable_digits), viable_tail))
    # `8N`: not an international prefix (810…), and the national prefix comes off: 8N is not
    # viable, or N is.
    with_prefix = pc.and_(pc.and_(pc.invert(plus), eleven), pc.and_(starts_prefix, pc.invert(idd_led)))
    with_prefix = pc.and_(with_prefix, pc.or_(pc.invert(viable_digits), viable_tail))
    # `N`: neither a country code (7…: Kazakhstan's leading digit anyway) nor an international
    # prefix, and a leading 8 stays.
    bare = pc.and_(pc.and_(pc.invert(plus), ten), pc.and_(pc.invert(starts_cc), pc.invert(idd_led)))
    bare = pc.and_(bare, keeps_prefix(digits, viable_digits, viable_tail))
    national = pc.if_else(bare, digits, tail)
    decided = pc.or_(pc.or_(with_plus, with_cc), pc.or_(with_prefix, bare))
    decided = pc.and_(decided, pc.if_else(bare, viable_digits, viable_tail))
    # region_code_for_number: the main region owns the number by its leading digits; then valid
    # when _number_type_helper names a type.
    decided = pc.and_(decided, match(national, rules["leading"]))
    kind = pa.nulls(len(national), pa.string())
    remaining = decided
    for name, pattern in rules["specials"]:
        hit = pc.and_(remaining, match(national, pattern))
        kind = pc.if_else(hit, name, kind)
        remaining = pc.and_(remaining, pc.invert(hit))
    mobile = match(national, rules["mobile"]) if rules["mobile"] else pa.repeat(False, len(national))
    if rules["fixed"]:
        fixed = pc.and_(remaining, match(national, rules["fixed"]))
        both = pc.or_(mobile, pa.repeat(rules["same_fixed_mobile"], len(national)))
        kind = pc.if_else(fixed, pc.if_else(both, "fixed_line_or_mobile", "fixed_line"), kind)
        remaining = pc.and_(remaining, pc.invert(fixed))
    if not rules["same_fixed_mobile"]:
        kind = pc.if_else(pc.and_(remaining, mobile), "mobile", kind)
    # An undecided row stays undecided; a decided row with no type is invalid: libphonenumber's.
    decided = pc.and_(decided, pc.is_valid(kind))
    mask = pc.replace_with_mask(pa.repeat(False, n), shape, decided)
    keep = pc.indices_nonzero(decided)
    e164 = pc.binary_join_element_wise("+" + cc, pc.take(national, keep), "")
    return mask, e164, pc.take(kind, keep)


def parse_phones_arrow(values: pa.Array | pa.ChunkedArray, region: str = "RU") -> pa.Table:
    """`parse_phone` for many values, one row per value in order (columns PHONE_COLUMNS): the
    common Russian spellings (`8 (912) 345-67-89`, `+7 912 3456789`, `9123456789`, ...) decided
    with vectorised rules drawn from libphonenumber's own metadata, the rest by `parse_phone`.
    The result is libphonenumber's, value for value (tests/test_phones_fast.py); the fast path
    only exists because libphonenumber costs ~100 µs a value and a million spellings are common."""
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    values = values.cast(pa.string())
    n = len(values)
    mask, e164, kind = _fast_phones(values, region)
    slow_rows = pc.indices_nonzero(pc.invert(mask))
    slow = parse_phones(pc.take(values, slow_rows).to_pylist(), region)
    nulls = pa.nulls(n, pa.string())
    slow_mask = pc.invert(mask)

    def column(fast: pa.Array | None, slow_values: list) -> pa.Array:
        out = nulls if fast is None else pc.replace_with_mask(nulls, mask, fast)
        return pc.replace_with_mask(out, slow_mask, pa.array(slow_values, pa.string()))

    return pa.table({
        "phone_raw": values,
        "phone": column(e164, [p.e164 for p in slow]),
        "phone_issue": column(None, [p.issue for p in slow]),
        "phone_kind": column(kind, [p.kind for p in slow]),
        "phone_region": column(pa.repeat(region, len(e164)).cast(pa.string()), [p.region for p in slow]),
    })


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
    forms = _domain_forms(domain)
    if (forms is None or not _LOCAL.match(local) or local.startswith(".") or local.endswith(".")
            or ".." in local):
        return Email(None, None, "not an e-mail address")
    unicode_domain, ascii_domain = forms
    return Email(f"{local}@{unicode_domain}", f"{local}@{ascii_domain}", None)


@lru_cache(maxsize=100_000)
def _domain_forms(domain: str) -> tuple[str, str] | None:
    """(Unicode, ASCII) forms of a valid mail domain, else None. Per distinct domain: IDNA is most
    of parse_email's cost, and a million addresses hold far fewer domains."""
    domain = domain.rstrip(".")
    try:
        unicode_domain = domain.encode("idna").decode("idna").lower()
        ascii_domain = unicode_domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    labels = unicode_domain.split(".")
    if (len(labels) < 2 or not all(_LABEL.match(label) for label in labels)
            or not _TLD.match(ascii_domain.rsplit(".", 1)[-1])):
        return None
    return unicode_domain, ascii_domain


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


@lru_cache(maxsize=100_000)
def _repaired_domain(domain: str) -> str | None:
    """The well-known mail domain `domain` is a slip for (or is), else None. Per distinct domain:
    the edit distances are most of repair_email's cost, and a million addresses hold far fewer
    domains."""
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
    return fixed if fixed in KNOWN_MAIL_DOMAINS else None


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
    fixed = _repaired_domain(domain)
    if fixed is None:
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
