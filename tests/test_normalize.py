"""Phone, e-mail and name rules; the phone table is API_NOTES.md §9."""

import pytest

from cdp.names import split_full_name
from cdp.normalize import fold, normalize_email, parse_email, parse_phone, parse_phones


@pytest.mark.parametrize("raw", ["89161234567", "8 (916) 123-45-67", "+7 (916) 123-45-67", "79161234567",
                                 "9161234567", "916-123-45-67", "+7 916 1234567", "8-916-123-45-67"])
def test_russian_mobile_spellings_land_on_one_e164(raw):
    assert parse_phone(raw).e164 == "+79161234567"
    assert parse_phone(raw).kind == "mobile"


@pytest.mark.parametrize("raw, e164, kind, region", [
    ("84951234567", "+74951234567", "fixed_line", "RU"),
    ("8 800 555 35 35", "+78005553535", "toll_free", "RU"),
    ("87011234567", "+77011234567", "mobile", "KZ"),
    ("810 49 30 123456", "+4930123456", "fixed_line", "DE"),
])
def test_other_number_kinds_follow_libphonenumber(raw, e164, kind, region):
    phone = parse_phone(raw)
    assert (phone.e164, phone.kind, phone.region) == (e164, kind, region)


@pytest.mark.parametrize("raw", ["12345", "нет", "+7 (000) 000-00-00", "телефон", "+7", "1", "тел 1", "7,91E+10",
                                 "+", "()", "8" * 300, "\x00"])
def test_invalid_phones_are_flagged_not_guessed(raw):
    phone = parse_phone(raw)
    assert phone.e164 is None
    assert phone.issue


def test_email_is_trimmed_and_lowercased():
    assert normalize_email("  Ivan.Petrov@Mail.RU ") == "ivan.petrov@mail.ru"
    assert normalize_email("   ") is None


def test_internationalised_addresses_are_valid_and_one_in_either_spelling():
    cyrillic, punycode = parse_email("Иван@Пример.РФ"), parse_email("иван@xn--e1afmkfd.xn--p1ai")
    assert cyrillic.address == punycode.address == "иван@пример.рф"
    assert cyrillic.ascii == punycode.ascii == "иван@xn--e1afmkfd.xn--p1ai"
    assert parse_email("info@почта.рф").issue is None


@pytest.mark.parametrize("raw", ["a@b", "a@@mail.ru", "a b@mail.ru", "x@mail.r", ".x@mail.ru", "x@-mail.ru",
                                 "x@mail_ru.com", "x@1.2.3.4", "нет", "@mail.ru", "x@xn--zz.com"])
def test_not_an_address_is_flagged_not_guessed(raw):
    assert parse_email(raw).address is None and parse_email(raw).issue


@pytest.mark.parametrize("full, expected", [
    ("Иванов Иван Иванович", ("Иванов", "Иван", "Иванович")),
    ("Иван Иванов", ("Иванов", "Иван", None)),
    ("ИВАНОВА АННА СЕРГЕЕВНА", ("Иванова", "Анна", "Сергеевна")),
    ("Алёна Фёдорова", ("Фёдорова", "Алёна", None)),
    ("Петров Пётр", ("Петров", "Пётр", None)),
    # Given name first, and surnames the old 159-name list swapped (issue 11).
    ("Иван Фомич Бирюков", ("Бирюков", "Иван", "Фомич")),
    ("Бирюков Иван Фомич", ("Бирюков", "Иван", "Фомич")),
    ("Иван Бирюков", ("Бирюков", "Иван", None)),
    ("Лев Толстой", ("Толстой", "Лев", None)),
    ("Цой Виктор Робертович", ("Цой", "Виктор", "Робертович")),
    # Every patronymic form: -вич, -ич, -вна, -ична, -инична, оглы/кызы.
    ("Кузьмина Ольга Ильинична", ("Кузьмина", "Ольга", "Ильинична")),
    ("Петров Сергей Лукич", ("Петров", "Сергей", "Лукич")),
    ("Смирнова Елена Никитична", ("Смирнова", "Елена", "Никитична")),
    ("Мамедов Рустам Гусейн оглы", ("Мамедов", "Рустам", "Гусейн оглы")),
    ("Алиева Лейла Заур кызы", ("Алиева", "Лейла", "Заур кызы")),
    ("Римский-Корсаков Николай Андреевич", ("Римский-Корсаков", "Николай", "Андреевич")),
    ("Мария", (None, "Мария", None)),
    ("Роман", (None, "Роман", None)),
    ("Любовь", (None, "Любовь", None)),
    ("Петрова", ("Петрова", None, None)),
])
def test_names_split_whatever_the_order(full, expected):
    assert tuple(split_full_name(full)) == expected


@pytest.mark.parametrize("full, expected", [
    # Typed in Latin letters on a mailing list or a web form, mostly given name first: read in
    # Cyrillic for the dictionary (each word read as an unknown one made the first the surname).
    ("Galina Romanova", ("Romanova", "Galina", None)),
    ("Romanova Galina", ("Romanova", "Galina", None)),
    ("Dmitrii Sokolov", ("Sokolov", "Dmitrii", None)),
    ("Dmitry Medvedev", ("Medvedev", "Dmitry", None)),
    ("Natalya Ivanova", ("Ivanova", "Natalya", None)),
    ("Tatiana Smirnova", ("Smirnova", "Tatiana", None)),
    ("Ilya Belov", ("Belov", "Ilya", None)),
    ("Sergey Kuznetsov", ("Kuznetsov", "Sergey", None)),
    ("Alexander Petrov", ("Petrov", "Alexander", None)),
    ("Eugenia Eremina", ("Eremina", "Eugenia", None)),
    ("Nikolai Rimsky-Korsakov", ("Rimsky-Korsakov", "Nikolai", None)),
    ("Ivan Ivanovich Ivanov", ("Ivanov", "Ivan", "Ivanovich")),
    ("Kozlova Olga Petrovna", ("Kozlova", "Olga", "Petrovna")),
    ("Yuriy", (None, "Yuriy", None)),
    ("Vasilyeva", ("Vasilyeva", None, None)),
    # Two words the dictionary does not know in any reading: given name first, as Latin-lettered
    # names mostly are (they were read surname first); a known given name still places an
    # unknown surname before it.
    ("John Smith", ("Smith", "John", None)),
    ("Sarah Johnson", ("Johnson", "Sarah", None)),
    ("Kuzmenko Oksana", ("Kuzmenko", "Oksana", None)),
    ("Oksana Kuzmenko", ("Kuzmenko", "Oksana", None)),
])
def test_latin_lettered_names_split_like_cyrillic_ones(full, expected):
    assert tuple(split_full_name(full)) == expected


def test_many_phones_at_once_never_raise():
    parsed = parse_phones(["+79123456789", None, "+7", "not a phone"])
    assert [p.e164 for p in parsed] == ["+79123456789", None, None, None]


def test_fold_is_for_matching_only():
    assert fold("Фёдоров") == fold("ФЕДОРОВ") == "федоров"
