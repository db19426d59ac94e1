"""The matching keys identity compares names with, and e-mail repair (pure helpers)."""

from __future__ import annotations

import pytest

from cdp.names import given_name_keys, latin_skeleton, name_columns_swapped, surname_key
from cdp.normalize import repair_email


@pytest.mark.parametrize(("one", "other"), [
    ("Иванова", "Иванов"), ("Ivanova", "Иванов"), ("Вишневская", "Вишневский"), ("Фёдоров", "Fedoroff"),
    ("Хрущёв", "Khrushchev"), ("Толстая", "Толстой"),
])
def test_surname_forms_share_a_key(one, other):
    assert surname_key(one) == surname_key(other)


def test_different_surnames_do_not():
    assert surname_key("Иванов") != surname_key("Петров")


@pytest.mark.parametrize(("one", "other"), [
    ("Саша", "Александра"), ("Саша", "Александр"), ("Sasha", "Александр"), ("Alexander", "Александр"),
    ("Наташа", "Наталья"), ("Natalya", "Наталия"), ("Yuliya", "Юлия"), ("Julia", "Юлия"), ("Стёпа", "Степан"),
    ("Eugene", "Евгений"), ("Пётр", "Петр"),
])
def test_given_name_forms_meet(one, other):
    assert set(given_name_keys(one)) & set(given_name_keys(other))


@pytest.mark.parametrize(("one", "other"), [("Илья", "Игорь"), ("Мария", "Марина"), ("Александр", "Алексей")])
def test_different_given_names_do_not(one, other):
    assert not set(given_name_keys(one)) & set(given_name_keys(other))


def test_skeleton_forgives_transliteration_schemes():
    assert {latin_skeleton(v) for v in ("Наталья", "Natalia", "Natalya", "Natal'ya")} == {"natalia"}


@pytest.mark.parametrize(("typed", "meant"), [
    ("ivan@@mail.ru", "ivan@mail.ru"), ("ivan@mail.r", "ivan@mail.ru"), ("ivan@gmial.com", "ivan@gmail.com"),
    ("ivan@yandex.ry", "ivan@yandex.ru"), ("ivan@gmail.co", "ivan@gmail.com"), ("ivan@mail.ru.ru", "ivan@mail.ru"),
    ("ivan@gmail,com", "ivan@gmail.com"), ("ivan @ mail.ru", "ivan@mail.ru"),
])
def test_typos_on_known_mail_domains_get_a_repair_candidate(typed, meant):
    repaired = repair_email(typed)
    assert repaired.address == meant and repaired.repair


@pytest.mark.parametrize("value", ["ivan@mail.ru", "ivan@mail.ru.", "ivan@corp-shop.ru", "a@gmx.com", "not an address", ""])
def test_right_or_unknown_domains_are_left_alone(value):
    assert repair_email(value).address is None


@pytest.mark.parametrize("surname, given", [("Анатолий", "Михеев"), ("Тамара", "Павлова"), ("Анна", "Шевчук"),
                                            ("Мария", "Иванова")])
def test_name_boxes_filled_the_other_way_round_are_recognised(surname, given):
    assert name_columns_swapped(surname, given)


@pytest.mark.parametrize("surname, given", [
    ("Иванов", "Иван"),        # as typed
    ("Роман", "Сергей"),       # both given names: nothing says which box is wrong
    ("Петров", "Роман"),       # Роман is also a surname, but here the surname box holds a surname
    ("Ким", "Надежда"),        # a short surname the dictionary knows
    ("Надежда", "Ким"),        # the given-name box holds no known surname ending
    ("Анатолий Михеев", "Х"),  # not one word each
    (None, "Михеев"),
])
def test_names_typed_in_their_boxes_or_undecidable_stay_as_typed(surname, given):
    assert not name_columns_swapped(surname, given)


def _words_of_addresses_and_names() -> list[str]:
    """Words as identity cuts them from e-mail local parts (`[a-z]+`): every address of the
    evaluation set's exports, the Latin spellings of the given names cdp/names.py knows, and
    random words dense in the letters the rules rewrite (runs, y/j, h, x, w, the endings)."""
    import random
    import re
    from pathlib import Path

    from cdp import names

    inbox = Path(__file__).parent / "fixtures" / "identity_eval" / "inbox"
    words: set[str] = set()
    for file, encoding in (("esp_contacts.csv", "utf-8-sig"), ("crm_clients.csv", "utf-8-sig"), ("1c_kontragenty.csv", "cp1251")):
        text = (inbox / file).read_text(encoding=encoding)
        for local in re.findall(r"([A-Za-z0-9._%+-]+)@", text):
            words.update(w for w in re.split(r"[^a-z]+", local.lower()) if w)
    for full, forms in names._GIVEN_FORMS.items():
        for word in (full, *forms.split()):
            words.add(names.latin_skeleton(word))
            words.add(re.sub(r"[^a-z]", "", word))
    rng = random.Random(15)
    alphabet = "aeiouyjhkcsxwtzfpndrvl"
    for _ in range(20_000):
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        words.add(word + rng.choice(["", "a", "ova", "off", "ander", "skaia", "skii", "tskoi", "ff", "ii"]))
    return sorted(w for w in words if w)


def test_email_words_are_spelled_in_sql_as_the_name_keys_are():
    """int_identity_pairs_scored spells the words of every local part in SQL, set-based; a pair
    meets only if those spellings equal the name keys, which Python computes. The two must agree
    word for word."""
    import duckdb

    from cdp.names import latin_skeleton_sql, latin_surname_stem_sql

    words = _words_of_addresses_and_names()
    assert len(words) > 15_000
    con = duckdb.connect()
    con.execute("create table words as select unnest(?::varchar[]) as word", [words])
    rows = con.execute(f"""
        select word, token, {latin_surname_stem_sql('token')} as stem
        from (select word, {latin_skeleton_sql('word')} as token from words)
    """).fetchall()
    differ = [(w, t, s) for w, t, s in rows if (t, s) != (latin_skeleton(w), surname_key(w))]
    assert not differ, differ[:10]
