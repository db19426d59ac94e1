"""Ad-platform identifiers against the platforms' published test vectors
(../shared/specs/destinations.md §4 and §7: Yandex Audience / Metrica pages)."""

from __future__ import annotations

import pytest

from connectors.common.hashing import (
    digest,
    identifiers,
    is_hash,
    normalize,
    not_hashes,
    split_form,
)

# (normalised value, algorithm, published hash)
PUBLISHED = [
    ("mail@yandex.ru", "md5", "3c56ff8fef0f6c65b36b2d25720fe276"),
    ("79995551111", "md5", "f09f2c3d48f31e2a802944ade2e5aec5"),
    ("79876543210", "md5", "5c5259938ed3e632bc5e3f94731090af"),
    ("name@yandex.ru", "sha256", "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623"),
    ("70123456789", "sha256", "8f0dd3d30a1ea4b739c6217c02604aee1556025da990212759efd877206a1948"),
    # computed locally in the spec, not published
    ("79995551111", "sha256", "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e"),
    ("79161234567", "sha256", "1210f4f193f6032e91cd7117a785a1be09550d79076c4717cdae4c0c45691a30"),
]


@pytest.mark.parametrize("value,algorithm,expected", PUBLISHED)
def test_digest_matches_published_vectors(value, algorithm, expected):
    assert digest(algorithm, [value]) == [expected]


@pytest.mark.parametrize("form,raw,expected", [
    ("email_md5", "  Mail@Yandex.RU ", "3c56ff8fef0f6c65b36b2d25720fe276"),
    ("email_sha256", "NAME@yandex.ru", "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623"),
    ("phone_md5", "8 (999) 555-11-11", "f09f2c3d48f31e2a802944ade2e5aec5"),
    ("phone_md5", "+7 999 555 11 11", "f09f2c3d48f31e2a802944ade2e5aec5"),
    ("phone_md5", "9995551111", "f09f2c3d48f31e2a802944ade2e5aec5"),
    ("phone_md5", "7 (987) 654-32-10", "5c5259938ed3e632bc5e3f94731090af"),
    ("phone_sha256", "89995551111", "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e"),
    ("phone_sha256", "+7 (916) 123-45-67", "1210f4f193f6032e91cd7117a785a1be09550d79076c4717cdae4c0c45691a30"),
])
def test_raw_addresses_normalise_to_the_published_hash(form, raw, expected):
    assert identifiers(form, [raw]) == [expected]


def test_phone_rules_for_russia():
    got = normalize("phone", ["8 (916) 123-45-67", "+7 916 1234567", "9161234567", "87011234567", "8 800 555 35 35",
                              "12345", "70123456789", None])
    # +7 7… is Kazakhstan and stays so; 8 800 is a valid toll-free number; an invalid number is never guessed
    assert got == ["79161234567", "79161234567", "79161234567", "77011234567", "78005553535", None, None, None]


def test_email_rules():
    assert normalize("email", [" Ivan.Petrov@Mail.RU ", "not an address", "иван@пример.рф"]) == \
        ["ivan.petrov@mail.ru", None, "иван@xn--e1afmkfd.xn--p1ai"]
    # no Gmail dot-stripping for these platforms (that is Google's rule only)
    assert normalize("email", ["a.b@gmail.com"]) == ["a.b@gmail.com"]


def test_hash_checks_and_forms():
    sha = digest("sha256", ["x"])[0]
    md5 = digest("md5", ["x"])[0]
    assert is_hash("sha256", sha) and not is_hash("sha256", md5) and not is_hash("md5", sha.upper()[:32])
    assert not_hashes("md5", [md5, "ivan@mail.ru", md5]) == 1
    assert split_form("phone_md5") == ("phone", "md5") and split_form("email") == ("email", None)
    with pytest.raises(ValueError):
        split_form("email_sha1")
