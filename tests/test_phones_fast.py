"""The vectorised phone path (`parse_phones_arrow`) gives exactly what libphonenumber gives.

A large sample is generated here, seeded: the demo generator's spellings (`PHONE_TEMPLATES`) of
national numbers drawn across every leading digit and the special ranges (mobile 9xx, area codes,
8 800 toll-free, 809 premium, 808 personal, 810 the international prefix, Kazakh 7xx), with the
trunk prefix and country code written every way, then mutated into the forms real exports hold:
extensions, letters, junk before and after, too short and too long, doubled prefixes, Unicode
digits, dashes, NBSP. Every value is compared with `parse_phone` (e164, issue, kind, region).
"""

from __future__ import annotations

import random

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.normalize import PHONE_COLUMNS, Phone, _fast_phones, parse_phone, parse_phones_arrow
from demo.generate import PHONE_TEMPLATES

AREA_CODES = ["495", "499", "812", "343", "383", "301", "336", "341", "401", "411", "423", "471", "485",
              "811", "818", "820", "831", "840", "848", "849", "851", "861", "866", "879",
              "800", "804", "808", "809", "810", "802", "700", "701", "705", "747", "771", "751", "712", "727"]
LEADS = ["", "", "8", "8", "7", "+7", "+7 ", "8 ", "+7(", "8(", "+ 7 ", "+8", "810", "8 10 ", "+", "++7", "(+7)",
         "07", "88", "77", "+77", "7 ", "8-", "+7-", "+7.", "+49 ", "00", "1", "+0"]
SEPARATORS = [" ", " ", "-", "-", "", ".", "(", ")", "  ", " - ", ") "]
JUNK_BEFORE = ["тел. ", "tel:", "т.", "моб ", "x", "(", " ", "  ", "#", "+", "-", "\u00a0", "\ufeff", "'"]
JUNK_AFTER = [" доб. 123", " доб 5", " ext 12", " x 1", "#12", ";", ",", " ", "\u00a0", ".", ")", "-",
              ", 8 495 123 45 67", "; +7 912 000 00 00", " (раб)", " моб", "a", "/x2", "/", "\n", " ,, 12"]
UNICODE_SWAPS = {"-": ["\u2013", "\u2014", "\u2212", "\u2010"], " ": ["\u00a0", "\u2009", "\u3000", "\t"],
                 "+": ["\uff0b"], "(": ["\uff08"], ")": ["\uff09"]}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _national(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        body = "9" + "".join(rng.choices("0123456789", k=9))
    elif roll < 0.75:
        body = rng.choice(AREA_CODES) + "".join(rng.choices("0123456789", k=7))
    else:
        body = "".join(rng.choices("0123456789", k=10))
    if rng.random() < 0.06:  # one digit too few or too many
        body = body[:-1] if rng.random() < 0.5 else body + rng.choice("0123456789")
    return body


def _grouped(digits: str, rng: random.Random) -> str:
    cuts = rng.choice([(3, 6, 8), (3, 6), (3,), (), (3, 5, 7), (2, 5, 8), (4, 7), (1, 4, 7)])
    parts, last = [], 0
    for cut in cuts:
        parts.append(digits[last:cut])
        last = cut
    parts.append(digits[last:])
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice(SEPARATORS) + part
    return out


def _templated(digits10: str, template: str) -> str:
    it = iter(digits10)
    return "".join(next(it) if ch == "d" else ch for ch in template)


def _spelling(rng: random.Random) -> str:
    national = _national(rng)
    if len(national) == 10 and rng.random() < 0.4:
        text = _templated(national, rng.choice(PHONE_TEMPLATES))
    else:
        lead = rng.choice(LEADS)
        text = lead + rng.choice(["", "", " ", "-", "("]) + _grouped(national, rng)
    roll = rng.random()
    if roll < 0.08:
        text = rng.choice(JUNK_BEFORE) + text
    elif roll < 0.16:
        text = text + rng.choice(JUNK_AFTER)
    elif roll < 0.20:
        source = rng.choice([c for c in UNICODE_SWAPS if c in text] or [" "])
        text = text.replace(source, rng.choice(UNICODE_SWAPS[source]), 1)
    elif roll < 0.22:
        text = text.translate(rng.choice([FULLWIDTH, ARABIC_INDIC]))
    elif roll < 0.24:
        pos = rng.randrange(len(text) + 1)
        text = text[:pos] + rng.choice("+()-. 0789аЗOo") + text[pos:]
    elif roll < 0.26:
        pos = rng.randrange(len(text) + 1)
        text = text[:pos] + text[pos:][1:]
    if rng.random() < 0.1:
        text = rng.choice([" ", "  ", "\t"]) + text + rng.choice([" ", "", "\n"])
    return text


HAND_WRITTEN = [
    "+7 (912) 345-67-89 доб. 123", "8 912 345 67 89 доб.123", "+7 912 345 67 89; 8 495 123 45 67", "89123456789 ext. 5",
    "8-849-512-34-567", "784951234567", "8 8 495 123 45 67", "88495123456", "+7 7012345678", "87012345678",
    "77012345678", "7012345678", "8 800 555 35 35", "88005553535", "+78005553535", "8005553535", "8 (800) 100-00-00",
    "8 10 49 30 123456", "810 49 30 123456", "81049301234567", "8101234567", "+7", "7", "8", "", " ", "+", "()", "-",
    "+7 (000) 000-00-00", "0000000000", "80000000000", "8 (912) 345-67-8", "8 (912) 345-67-890", "89123456789012",
    "+7 912 345 67 89 ", " +7 912 345 67 89", "\u00a0+7 912 345 67 89", "+7\u00a0912\u00a0345\u00a067\u00a089",
    "+7 912 345\u201367\u201389", "８９１２３４５６７８９", "٠٩١٢٣٤٥٦٧٨٩", "+7 912 345 67 8O", "тел 1", "7,91E+10",
    "7.91E+10", "9.123456789E9", "(+7) 912 345-67-89", "+(7) 912 345-67-89", "++79123456789", "+8 912 345 67 89",
    "+79123456789+", "(((9123456789)))", "9123456789)", "..9123456789..", "9 1 2 3 4 5 6 7 8 9", "9-1-2-3-4-5-6-7-8-9",
    "8" * 300, " " * 260 + "89123456789", "8 (912) 345-67-89" + " " * 240, "8" + " " * 250 + "9123456789",
    "8" + " " * 230 + "9123456789", "+7 3012 34 56 78", "+7 (301) 234-56-78",
    "+7 809 123 45 67", "+7 808 123 45 67", "+7 804 123 45 67", "+7 930 000 05 00", "+7 930 003 80 00",
    "+7 93 00 00 00 00", "9300080000", "+7 600 000 00 00", "+7 100 000 00 00", "+7 200 123 45 67",
    "+7 (495) 123-45-67", "8(495)1234567", "(495) 123-45-67", "495.123.45.67", "+1 212 555 0100",
    "8 (912) 345-67-89, 8 (912) 345-67-80", "8 /912/ 345 67 89", "8 912 345 67 89/x12", "8 912 345 67 89 x12",
]


def _sample(n: int, seed: int = 15) -> list[str]:
    rng = random.Random(seed)
    seen = dict.fromkeys(HAND_WRITTEN)
    while len(seen) < n:
        seen.setdefault(_spelling(rng))
    return list(seen)


def _as_phone(row: dict) -> Phone:
    return Phone(row["phone"], row["phone_issue"], row["phone_kind"], row["phone_region"])


def test_fast_path_equals_libphonenumber_on_a_large_sample():
    values = _sample(200_000)
    table = parse_phones_arrow(pa.array(values + [None], pa.string()))
    assert table.column_names == list(PHONE_COLUMNS)
    assert table.column("phone_raw").to_pylist() == values + [None]
    mismatches = [(raw, got, parse_phone(raw)) for raw, got in zip(values, map(_as_phone, table.to_pylist()))
                  if got != parse_phone(raw)]
    assert mismatches == [], mismatches[:20]
    assert _as_phone(table.slice(len(values)).to_pylist()[0]) == Phone(None, None)
    # The sample exercises both paths and every kind the fast path gives.
    mask, _, kinds = _fast_phones(pa.array(values, pa.string()), "RU")
    decided = mask.true_count
    assert 0.3 * len(values) < decided < len(values)
    assert set(kinds.to_pylist()) >= {"mobile", "fixed_line", "toll_free", "premium_rate", "other"}


def test_the_demo_spellings_take_the_fast_path():
    rng = random.Random(1)
    national = ["9" + "".join(rng.choices("0123456789", k=9)) for _ in range(2000)]
    values = [_templated(n, template) for n in national for template in PHONE_TEMPLATES]
    mask, e164, kinds = _fast_phones(pa.array(values, pa.string()), "RU")
    valid = [v for v in values if parse_phone(v).e164]
    assert mask.true_count == len(valid) > 0.9 * len(values)
    assert set(kinds.to_pylist()) == {"mobile"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789789789 ()-.+", max_size=22), min_size=1, max_size=40))
def test_fast_path_equals_libphonenumber_on_any_plain_spelling(values):
    table = parse_phones_arrow(pa.array(values, pa.string()))
    assert [_as_phone(row) for row in table.to_pylist()] == [parse_phone(v) for v in values]


def test_empty_and_chunked_input():
    assert parse_phones_arrow(pa.array([], pa.string())).num_rows == 0
    chunked = pa.chunked_array([pa.array(["89123456789"]), pa.array(["нет", None])])
    rows = parse_phones_arrow(chunked).to_pylist()
    assert [r["phone"] for r in rows] == ["+79123456789", None, None]
    assert rows[1]["phone_issue"] == "no digits"
