"""Hostile values into every value normaliser (issue 12): phones, e-mails, one-field full names, and
the spreadsheet cell parsers (dates, amounts, consent and status words).

Each function is fed arbitrary text plus the values that once stopped a daily run (`+7`, `1`,
`тел 1`, `7,91E+10` as Excel writes a long number into CSV, NUL, very long strings, RTL marks and
emoji, other scripts' digits) and must return its documented type for every one of them: one odd
value is a null with a reason, never an exception that fails the run.

Text is drawn from what the warehouse can hold (UTF-8 encodable, so no lone surrogates): the phone,
e-mail and name parsers run on values read back from DuckDB, and the spreadsheet reader decodes a
file before its cells reach the value parsers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cdp.names import PersonName, split_full_name
from cdp.normalize import Phone, normalize_email, parse_phone, parse_phones
from connectors.spreadsheets.mapping import DEFAULT_CONSENT_VALUES, DEFAULT_DATE_FORMATS, DEFAULT_STATUSES, fold
from connectors.spreadsheets.values import parse_amount, parse_consent, parse_date, parse_status

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# E.164 allows at most 15 digits; the shortest real numbers have 7 (Niue +683 4002, St Helena).
E164 = re.compile(r"\+[0-9]{7,15}")
PHONE_KINDS = {"mobile", "fixed_line", "fixed_line_or_mobile", "toll_free", "premium_rate", "voip", "other"}
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# The values of issue 12 and their relatives: each one once failed a run or was silently garbled.
HOSTILE = [
    "+7", "1", "тел 1", "7,91E+10", "7.91E+10", "\x00", "", " ", "\t\n", "\u00a0", "+", "()", "-", "нет",
    "8" * 300, "9" * 10_000, "x" * 100_000, "Иванов " * 2_000,
    "\u202e+7 912 345-67-89\u202c", "\u200f8 (912) 345-67-89", "📞 +7 912 345 67 89", "👩‍👩‍👧 Анна",
    "٠٩١٢٣٤٥٦٧٨٩", "８９１２３４５６７８９", "+7 (912) 345-67-89 доб. 123", "+7 912 345 67 89; 8 495 123 45 67",
    "=HYPERLINK(\"http://x\")", "'; drop table customers; --", "NaN", "Infinity", "-0", "1E+308", "1,79E+308",
    "иван@пример.рф", "Иван@Пример.РФ", "info@xn--e1afmkfd.xn--p1ai", "a@b@c", "@", "a@", "@b.ru",
    "Гусейн оглы Алиев", "оглы", "\U00017000",  # a lone Turkic marker; a letter Python's unicodedata cannot name
    "Ǆ ß İ ŉ", "..., ;;;", "ИВАНОВ-ПЕТРОВ иван", "Ли", "مرحبا بالعالم", "שלום עולם",
]

# Arbitrary text a warehouse can hold; some of it long.
TEXT = st.text(st.characters(codec="utf-8"), max_size=200)
LONG_TEXT = st.text(st.characters(codec="utf-8"), min_size=1_000, max_size=3_000)
# Text that looks like a phone, a number or a name, so the parsers get past their first checks.
PHONE_LIKE = st.from_regex(r"[+8]?[0-9 ()\-.,E+]{0,24}", fullmatch=True)
NAME_LIKE = st.lists(st.sampled_from(["Иванов", "Иван", "Иванович", "Анна", "Сергеевна", "Бирюков", "Фомич",
                                      "Гусейн", "оглы", "кызы", "Любовь", "Роман", "МакДональд", "ПЕТРОВА",
                                      "мария", "Салтыков-Щедрин", "И.", "Ё", "-", "."]),
                     max_size=6).map(" ".join)


def _excel_number(x: float, digits: int, comma: bool) -> str:
    """How Excel writes a long number into CSV: `7,91E+10` (ru-RU) or `7.91E+10`."""
    text = f"{x:.{digits}E}"
    return text.replace(".", ",") if comma else text


EXCEL_FLOATS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308)
EXCEL_NUMBERS = st.builds(_excel_number, EXCEL_FLOATS, st.integers(0, 14), st.booleans())
ANY_VALUE = st.one_of(st.sampled_from(HOSTILE), TEXT, PHONE_LIKE, NAME_LIKE, EXCEL_NUMBERS, LONG_TEXT)


def _examples(values, *rest):
    """Pin every hostile value (with the test's other arguments, `rest`) as an explicit example,
    run on every test run before the random ones."""
    def wrap(test):
        for value in reversed(values):
            test = example(value, *rest)(test)
        return test
    return wrap


# --- phones ------------------------------------------------------------------------------------

def _check_phone(raw: str | None, phone: Phone) -> None:
    assert isinstance(phone, Phone)
    if phone.e164 is not None:
        assert E164.fullmatch(phone.e164), phone
        assert phone.issue is None and phone.kind in PHONE_KINDS and isinstance(phone.region, str)
    else:
        assert phone.kind is None
        if isinstance(raw, str) and raw.strip():
            assert isinstance(phone.issue, str) and phone.issue, f"no reason given for {raw!r}"
        else:
            assert phone.issue is None  # an empty cell is no value, not a bad one


@FUZZ
@_examples(HOSTILE)
@given(ANY_VALUE)
def test_parse_phone_returns_an_e164_or_a_reason_for_any_text(raw):
    phone = parse_phone(raw)
    _check_phone(raw, phone)
    if phone.e164:
        assert parse_phone(phone.e164).e164 == phone.e164, "a normalised number normalises to itself"


@FUZZ
@given(st.lists(st.one_of(st.none(), ANY_VALUE, st.integers(), st.floats()), max_size=20))
def test_parse_phones_answers_every_value_in_order(values):
    phones = parse_phones(values)
    assert len(phones) == len(values)
    for raw, phone in zip(values, phones):
        _check_phone(raw if isinstance(raw, str) else None, phone)


# --- e-mails -----------------------------------------------------------------------------------

@FUZZ
@_examples(HOSTILE)
@given(st.one_of(ANY_VALUE, st.builds("{}@{}.{}".format, TEXT, TEXT, st.sampled_from(["ru", "рф", "xn--p1ai", "com"]))))
def test_normalize_email_returns_none_or_one_trimmed_address(raw):
    address = normalize_email(raw)
    if address is None:
        return
    assert isinstance(address, str)
    local, _, domain = address.partition("@")
    assert local and "." in domain and "@" not in domain, address
    assert not any(ch.isspace() for ch in address), address
    assert normalize_email(address) == address, "a normalised address normalises to itself"


def test_normalize_email_of_nothing_is_none():
    assert normalize_email(None) is None


# --- full names ----------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    return sorted(w.casefold() for w in text.split())


@FUZZ
@_examples(HOSTILE)
@given(st.one_of(ANY_VALUE, NAME_LIKE))
def test_split_full_name_parts_are_the_inputs_words(full):
    name = split_full_name(full)
    assert isinstance(name, PersonName)
    parts = [p for p in name if p is not None]
    for part in parts:
        assert isinstance(part, str) and part and part == part.strip(), name
    # Every word of the input lands in exactly one part, none is invented; case may be tidied
    # (ИВАНОВ -> Иванов) and the punctuation around a word (`И.`, `,`) dropped.
    kept = [w.strip(".,;") for w in full.replace("\u00a0", " ").split()]
    assert _words(" ".join(parts)) == _words(" ".join(w for w in kept if w)), name


def test_split_full_name_of_nothing_is_empty():
    assert split_full_name(None) == PersonName(None, None, None)


# --- spreadsheet cells ---------------------------------------------------------------------------

DATE_FORMATS = st.lists(st.sampled_from([*DEFAULT_DATE_FORMATS, "%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M",
                                         "%d %B %Y", "%Y%m%d"]), min_size=1, max_size=4, unique=True).map(tuple)


@FUZZ
@_examples(HOSTILE, tuple(DEFAULT_DATE_FORMATS))
@given(ANY_VALUE, DATE_FORMATS)
@example("31.12.2024", ("%d.%m.%Y",))
@example("29.02.2023", ("%d.%m.%Y",))
@example("45291", ("%d.%m.%Y",))  # an Excel serial day number
def test_parse_date_returns_none_or_an_iso_date(text, formats):
    value = parse_date(text, formats)
    if value is None:
        return
    assert ISO_DAY.fullmatch(value) or ISO_MOMENT.fullmatch(value), value
    datetime.fromisoformat(value)


@FUZZ
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.sampled_from(["%d.%m.%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y %H:%M"]))
def test_parse_date_reads_back_a_date_written_in_its_format(day, fmt):
    parsed = parse_date(f"  {day.strftime(fmt)} ", (fmt,))
    assert parsed is not None and parsed[:10] == day.isoformat()


@FUZZ
@_examples(HOSTILE)
@given(st.one_of(ANY_VALUE, EXCEL_NUMBERS))
def test_parse_amount_returns_none_or_a_plain_decimal(text):
    amount = parse_amount(text)
    if amount is None:
        return
    assert PLAIN_DECIMAL.fullmatch(amount), amount
    assert Decimal(amount).is_finite()


def _money_spellings(value: Decimal) -> list[str]:
    plain = f"{value:.2f}"
    grouped = f"{value:,.2f}"  # 1,234,567.50
    return [plain, plain.replace(".", ","), grouped, grouped.replace(",", "\u00a0").replace(".", ","),
            f"{grouped} руб.", f"{plain.replace('.', ',')} ₽", f"({plain})" if value >= 0 else plain]


@FUZZ
@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_parse_amount_reads_every_spelling_of_an_amount_alike(value):
    for spelling in _money_spellings(value):
        expected = -value if spelling.startswith("(") else value
        assert Decimal(parse_amount(spelling)) == expected, spelling


@FUZZ
@given(EXCEL_FLOATS, st.integers(0, 14))
def test_parse_amount_reads_excel_exponent_numbers(x, digits):
    for comma in (False, True):
        text = _excel_number(x, digits, comma)
        assert Decimal(parse_amount(text)) == Decimal(text.replace(",", ".")), text


def test_parse_amount_refuses_an_exponent_no_amount_has():
    """`1E+999999999999999999` is a valid Decimal; written out in full it would need an exabyte
    (MemoryError, the run stops). No amount has more digits than Excel's largest number."""
    assert parse_amount("1E+999999999999999999") is None
    assert parse_amount("1E+400") is None


CONSENT = {fold(word): meaning for meaning, words in DEFAULT_CONSENT_VALUES.items() for word in words}
STATUSES = {fold(word): meaning for meaning, words in DEFAULT_STATUSES.items() for word in words}


@FUZZ
@_examples(HOSTILE)
@given(st.one_of(ANY_VALUE, st.sampled_from(sorted(CONSENT))))
def test_parse_consent_returns_a_known_meaning_or_none(text):
    assert parse_consent(text, CONSENT) in {"granted", "revoked", "none", None}


@FUZZ
@given(st.sampled_from([(w, m) for m, words in DEFAULT_CONSENT_VALUES.items() for w in words]),
       st.sampled_from([str.upper, str.lower, str.title, lambda s: s]), st.sampled_from(["", " ", "\u00a0", ":", " *"]))
def test_parse_consent_reads_a_known_word_however_it_is_typed(word_meaning, case, edge):
    word, meaning = word_meaning
    assert parse_consent(f"{edge.strip(':*')}{case(word)}{edge}", CONSENT) == meaning


@FUZZ
@_examples(HOSTILE, None)
@given(st.one_of(ANY_VALUE, st.sampled_from(sorted(STATUSES))), st.sampled_from([None, "complete"]))
def test_parse_status_returns_a_known_status_the_default_or_none(text, default):
    status = parse_status(text, STATUSES, default)
    assert status in {"complete", "cancelled", "returned", default, None}
    if not fold(text):
        assert status == default
