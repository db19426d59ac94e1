"""Which word of a one-field Russian full name is the surname, the given name and the patronymic.

Only names that arrive in one field are parsed (1C's Наименование, a CRM manager typing the whole
name into one box, a spreadsheet's ФИО); separate columns are taken as the source gave them, unless
the surname and given-name boxes were plainly filled the other way round (name_columns_swapped).
The order varies ("Иванов Иван Иванович", "Иван Иванович Иванов", "Иван Иванов"), so each
word's role is scored with OpenCorpora's dictionary through pymorphy3 (tags Surn, Name, Patr) and
the most likely assignment wins, weighted by how often each order occurs in Russian records.
Patronymics are also recognised by their endings (-вич, -вна, -ична, -инична, -ич as in Фомич,
Кузьмич, Ильич) and by the Turkic оглы/кызы/улы/гызы, which stay attached to the father's name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple


class PersonName(NamedTuple):
    surname: str | None
    given_name: str | None
    patronymic: str | None


_TURKIC_PATRONYMIC = {"оглы", "кызы", "улы", "гызы", "оглу", "кизи"}
_PATRONYMIC_ENDING = re.compile(r"(ович|евич|ьич|вич|овна|евна|ична|инична|вна|кузьмич|фомич|ильич|лукич|никитич|саввич)$")
# How often each order appears in Russian customer records (lists and 1C cards are surname first;
# forms and greetings given-name first). Only the ratios matter.
_ORDERS_3 = {("surname", "given_name", "patronymic"): 0.62, ("given_name", "patronymic", "surname"): 0.30,
             ("given_name", "surname", "patronymic"): 0.04, ("surname", "patronymic", "given_name"): 0.02,
             ("patronymic", "given_name", "surname"): 0.01, ("patronymic", "surname", "given_name"): 0.01}
_ORDERS_2 = {("surname", "given_name"): 0.5, ("given_name", "surname"): 0.5, ("given_name", "patronymic"): 0.04,
             ("surname", "patronymic"): 0.01, ("patronymic", "given_name"): 0.005, ("patronymic", "surname"): 0.005}
# Two words in Latin letters are mostly given name first (a mailing list's or a web form's
# "Name", and every Western name); the dictionary still decides when it knows a word
# ("Romanova Galina"), and this only breaks the tie of two words it does not know ("John Smith"
# was read surname first).
_ORDERS_2_LATIN = {**_ORDERS_2, ("surname", "given_name"): 0.2, ("given_name", "surname"): 0.8}
_TAGS = {"surname": "Surn", "given_name": "Name", "patronymic": "Patr"}


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3  # ~0.4 s to load the dictionary: only when a name is parsed

    return pymorphy3.MorphAnalyzer()


def _dictionary_roles(folded: str) -> dict[str, float]:
    """The share of the dictionary's parses of a Cyrillic word (nominative) that name each role,
    the patronymic endings included."""
    found = {role: 0.0 for role in _TAGS}
    total = 0.0
    try:
        parses = _morph().parse(folded)
    except ValueError:  # a letter Python's Unicode tables cannot name (pymorphy3 asks): unknown word
        parses = []
    for parse in parses:
        total += parse.score
        for role, tag in _TAGS.items():
            if tag in parse.tag and (parse.tag.case in (None, "nomn")):
                found[role] += parse.score
    if total:
        found = {role: p / total for role, p in found.items()}
    if _PATRONYMIC_ENDING.search(folded):
        found["patronymic"] = max(found["patronymic"], 0.9)
    return found


# Latin letters back to Cyrillic, longest first. Why: a mailing list or a web form holds names typed
# in Latin letters ("Galina Romanova", "Dmitrii Sokolov"), mostly given name first, and the
# dictionary knows only Cyrillic; read as unknown words, both looked like surnames and the first
# became the surname. Transliteration is ambiguous, so a word gets a few readings (_cyrillic_readings)
# and each role takes the best of them.
_LAT_TO_CYR = [("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("tz", "ц"), ("ch", "ч"), ("sh", "ш"),
               ("ph", "ф"), ("ck", "к"), ("yu", "ю"), ("ju", "ю"), ("iu", "ю"), ("ya", "я"), ("ja", "я"), ("ia", "я"),
               ("yo", "ё"), ("jo", "ё"), ("ye", "е"), ("je", "е"), ("x", "кс"), ("'", "ь"),
               ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"),
               ("j", "й"), ("k", "к"), ("c", "к"), ("q", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
               ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("y", "ы")]
_LATIN_WORD = re.compile(r"[a-z'-]+")
# Endings: Dmitrii / Dmitriy / Dmitry -> Дмитрий, Sergey / Sergei -> Сергей, Nikolai -> Николай
# (written in Cyrillic first; the letter-by-letter reading keeps what it does not know).
_LATIN_ENDINGS = [(re.compile(r"(ii|iy|yi|ij|yj|yy)$"), "ий"), (re.compile(r"(?<=[^aeiouy])y$"), "ий"),
                  (re.compile(r"(?<=[aeou])[yij]$"), "й")]
# After a consonant, я, ю and е may stand for ья / ия (Natalya, Tatiana, Ilya, Maria, Vasilyeva).
_SOFTENED = re.compile(r"(?<=[бвгдзклмнпрстфхцчшщ])([яюе])")


def _cyrillic_readings(word: str) -> tuple[str, ...]:
    """Cyrillic spellings a Latin-lettered Russian name may stand for: the letter-by-letter reading,
    the same with a soft sign or и before я/ю/е after a consonant, and the Russian full form of a
    Western spelling the given-name list knows (Eugenia -> Евгения, Alexander -> Александр)."""
    readings = []
    for part in word.split("-"):
        for pattern, mark in _LATIN_ENDINGS:
            part = pattern.sub(mark, part)
        out, i = [], 0
        while i < len(part):
            for lat, cyr in _LAT_TO_CYR:
                if part.startswith(lat, i):
                    out.append(cyr)
                    i += len(lat)
                    break
            else:
                out.append(part[i])
                i += 1
        readings.append("".join(out))
    base = "-".join(readings)
    found = [base, _SOFTENED.sub("ь\\1", base), _SOFTENED.sub("и\\1", base)]
    forms = _full_forms(word)
    if forms:
        found += forms.split()
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=200_000)
def _role_likelihoods(word: str) -> dict[str, float]:
    """P(role | word) from the dictionary's parses of the word in the nominative, smoothed: a
    surname is an open class (any unknown word may be one), a given name a closed one. A word in
    Latin letters is read in Cyrillic first, each role taking its best reading."""
    folded = word.lower().replace("ё", "е")
    if folded in _TURKIC_PATRONYMIC:
        return {"surname": 0.0, "given_name": 0.0, "patronymic": 1.0, "dictionary_given": 0.0, "dictionary_surname": 0.0}
    if _LATIN_WORD.fullmatch(folded):
        readings = [_dictionary_roles(r.replace("ё", "е")) for r in _cyrillic_readings(folded)]
        found = {role: max(r[role] for r in readings) for role in _TAGS}
    else:
        found = _dictionary_roles(folded)
    known = min(1.0, sum(found.values()))
    return {
        "surname": 0.25 * (1 - known) + found["surname"] + 0.02,
        "given_name": 0.04 * (1 - known) + found["given_name"] + 0.005,
        "patronymic": found["patronymic"] + 0.001,
        # Unsmoothed: what the dictionary itself says (a lone word is a given name if the
        # dictionary knows it as one at least as well as a surname: "Роман", "Любовь").
        "dictionary_given": found["given_name"],
        "dictionary_surname": found["surname"],
    }


def _display(word: str) -> str:
    """Title case for words typed all upper or all lower; mixed case (МакДональд) kept."""
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def _words(full: str) -> list[str]:
    words = [w.strip(".,;") for w in full.replace("\u00a0", " ").split()]
    words = [_display(w) for w in words if w]
    # Keep a Turkic patronymic marker with the father's name: "Гусейн оглы".
    merged: list[str] = []
    for w in words:
        if merged and w.lower() in _TURKIC_PATRONYMIC:
            merged[-1] = f"{merged[-1]} {w.lower()}"
        else:
            merged.append(w)
    return merged


def _likelihood(word: str, role: str) -> float:
    if " " in word:  # "Гусейн оглы"
        return 1.0 if role == "patronymic" else 0.001
    return _role_likelihoods(word)[role]


def split_full_name(full: str | None) -> PersonName:
    if not full or not full.strip():
        return PersonName(None, None, None)
    words = _words(full)
    if not words:
        return PersonName(None, None, None)
    if len(words) == 1:
        w = words[0]
        if " " not in w:
            seen = _role_likelihoods(w)
            if seen["dictionary_given"] > 0 and seen["dictionary_given"] >= seen["dictionary_surname"]:
                return PersonName(None, w, None)
        return PersonName(w, None, None)
    if len(words) > 3:
        # Double surnames and long names: the patronymic, if any, is the last patronymic-like word;
        # keep the remaining words in order around the best three-word reading of their edges.
        patr_at = max((i for i, w in enumerate(words) if _likelihood(w, "patronymic") > 0.5), default=None)
        if patr_at is not None and patr_at >= 2:
            return PersonName(" ".join(words[:patr_at - 1]), words[patr_at - 1], " ".join(words[patr_at:]))
        return PersonName(words[0], words[1], " ".join(words[2:]))
    if len(words) == 3:
        orders = _ORDERS_3
    elif all(_LATIN_WORD.fullmatch(w.lower()) for w in words):
        orders = _ORDERS_2_LATIN
    else:
        orders = _ORDERS_2
    best, best_score = None, -1.0
    for order, prior in orders.items():
        score = prior
        for word, role in zip(words, order):
            score *= _likelihood(word, role)
        if score > best_score:
            best, best_score = order, score
    roles = dict(zip(best, words))
    return PersonName(roles.get("surname"), roles.get("given_name"), roles.get("patronymic"))


def split_full_names(values: list[str | None]) -> list[PersonName]:
    """Many names at once (one parse per distinct spelling)."""
    return [split_full_name(v) for v in values]


_SURNAME_ENDING = re.compile(r"(ов|ев|ёв|ин|ын|ова|ева|ёва|ина|ына|ский|ская|цкий|цкая|ко|ук|юк|их|ых)$")


def word_roles(word: str | None) -> tuple[bool, bool]:
    """(is a given name, is a surname and not a given name) as the dictionary says, for one word of
    a surname or given-name column: a known given name that it does not know better as a surname;
    a word it does not know as a given name that it knows as a surname or that ends like one."""
    word = (word or "").strip()
    if not word or " " in word:
        return False, False
    seen = _role_likelihoods(word)
    is_given = seen["dictionary_given"] >= 0.5 and seen["dictionary_given"] > seen["dictionary_surname"]
    is_only_surname = seen["dictionary_given"] < 0.1 and (
        seen["dictionary_surname"] >= 0.3 or bool(_SURNAME_ENDING.search(word.lower())))
    return is_given, is_only_surname


def name_columns_swapped(surname: str | None, given_name: str | None) -> bool:
    """A form's surname and given-name boxes filled the other way round ("Анатолий" | "Михеев").

    Separate columns are trusted unless the dictionary is clear on both: the surname box holds a
    given name and the given-name box a word that is only a surname. "Роман" | "Сергей" or an
    unknown pair stays as typed. (In the warehouse the same rule is applied per word:
    int_name_word_roles, int_source_records_unioned.)"""
    return word_roles(surname)[0] and word_roles(given_name)[1]


__all__ = ["PersonName", "given_name_keys", "latin_skeleton", "latin_skeleton_sql", "latin_surname_stem_sql",
           "name_columns_swapped", "split_full_name", "split_full_names", "surname_key", "word_roles"]


# --- Matching keys (identity resolution) -------------------------------------------------------
# Why keys and not the names: the same person is "Иванова Александра" in the CRM, "Саша Иванова" in
# a form and "Aleksandra Ivanova" in a mailing tool. Names are compared through keys computed once
# per distinct word (a table, never per record): a Latin skeleton that forgives transliteration
# schemes (ya/ja/ia, kh/h, y/i, -ff/-v), a surname stem without the gender ending, and for given
# names the set of full forms a diminutive may stand for (Саша is Александр or Александра).

_CYR_TO_LAT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
               "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
               "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch",
               "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia"}
_SKELETON_RULES = [("shch", "sch"), ("kh", "h"), ("x", "ks"), ("w", "v"), ("ph", "f"), ("ck", "k"), ("tz", "ts"),
                   ("yu", "iu"), ("ju", "iu"), ("ya", "ia"), ("ja", "ia"), ("ye", "e"), ("yo", "e"), ("jo", "e"),
                   ("y", "i"), ("j", "i"), ("ii", "i"), ("ie", "e")]

# Full forms a diminutive or colloquial form may stand for. A short, well-known list: a form
# missing here still matches its full name through the surname, birth date and contacts.
_GIVEN_FORMS = {
    "саша": "александр александра", "саня": "александр александра", "шура": "александр александра",
    "алекс": "александр", "женя": "евгений евгения", "валя": "валентин валентина", "слава": "вячеслав владислав ярослав станислав",
    "вова": "владимир", "володя": "владимир", "дима": "дмитрий", "митя": "дмитрий", "коля": "николай",
    "миша": "михаил", "петя": "петр", "паша": "павел", "сережа": "сергей", "серега": "сергей", "леша": "алексей",
    "алеша": "алексей", "андрюша": "андрей", "ваня": "иван", "витя": "виктор", "вася": "василий",
    "гена": "геннадий", "гоша": "георгий", "жора": "георгий", "юра": "юрий", "толя": "анатолий", "костя": "константин",
    "стас": "станислав", "влад": "владислав", "макс": "максим", "рома": "роман", "тема": "артем", "боря": "борис",
    "гриша": "григорий", "леня": "леонид", "федя": "федор", "игорек": "игорь", "олег": "олег", "кирюша": "кирилл",
    "никита": "никита", "егорка": "егор", "илюша": "илья", "тимоша": "тимофей", "данила": "даниил", "даня": "даниил",
    "маша": "мария", "маня": "мария", "наташа": "наталья наталия", "наталия": "наталья", "таня": "татьяна",
    "аня": "анна", "нюра": "анна", "оля": "ольга", "лена": "елена", "ира": "ирина", "катя": "екатерина",
    "света": "светлана", "юля": "юлия", "люба": "любовь", "люда": "людмила", "мила": "людмила", "галя": "галина",
    "надя": "надежда", "вера": "вера", "настя": "анастасия", "даша": "дарья", "ксюша": "ксения", "лиза": "елизавета",
    "вика": "виктория", "нина": "нина", "тома": "тамара", "зоя": "зоя", "поля": "полина", "соня": "софья софия",
    "софия": "софья", "лара": "лариса", "рита": "маргарита", "марина": "марина", "алена": "елена алена",
    "аленка": "елена алена", "дарина": "дарина", "уля": "ульяна", "кристя": "кристина", "вероника": "вероника",
    "валера": "валерий", "эдик": "эдуард", "сеня": "семен", "яша": "яков",
    "степа": "степан", "стеша": "степан", "тима": "тимофей тимур", "тимоха": "тимофей", "захарка": "захар",
    "ярик": "ярослав", "ярослава": "ярослава", "русик": "руслан", "артемка": "артем", "вадик": "вадим",
    "виталик": "виталий", "ростик": "ростислав", "жека": "евгений", "лёша": "алексей", "лешка": "алексей",
    "сашка": "александр александра", "санек": "александр", "шурик": "александр", "вовка": "владимир",
    "димка": "дмитрий", "колька": "николай", "мишка": "михаил", "петька": "петр", "пашка": "павел",
    "ванька": "иван", "ванечка": "иван", "танюша": "татьяна", "анюта": "анна", "аннушка": "анна",
    "оленька": "ольга", "леночка": "елена", "катюша": "екатерина", "наташка": "наталья", "машенька": "мария",
    "светик": "светлана", "юленька": "юлия", "галочка": "галина", "валюша": "валентина", "зина": "зинаида",
    "тоня": "антонина", "нона": "нонна", "лида": "лидия", "клава": "клавдия", "фрося": "ефросинья",
    "глаша": "глафира", "дуся": "евдокия", "мотя": "матвей", "фима": "ефим", "сема": "семен",
    "гера": "герман", "эля": "эльвира", "эльвира": "эльвира", "инна": "инна", "роза": "роза", "лиля": "лилия",
    "ника": "вероника", "кира": "кира", "ева": "ева", "нелли": "нелли", "злата": "злата", "алиса": "алиса",
    # Western spellings of Russian names (a mailing list filled in by the person in Latin letters)
    "eugene": "евгений", "eugenia": "евгения", "alexander": "александр", "alexandra": "александра",
    "michael": "михаил", "mikhail": "михаил", "peter": "петр", "paul": "павел", "helen": "елена", "helena": "елена",
    "catherine": "екатерина", "kate": "екатерина", "mary": "мария", "maria": "мария", "george": "георгий",
    "nicholas": "николай", "nick": "николай", "anna": "анна", "ann": "анна", "julia": "юлия", "juliya": "юлия",
    "sophia": "софья софия", "sofia": "софья софия", "natalie": "наталья", "tatiana": "татьяна", "dmitry": "дмитрий",
    "sergey": "сергей", "alexey": "алексей", "andrew": "андрей", "ivan": "иван", "jacob": "яков", "leo": "лев",
    "gregory": "григорий", "basil": "василий", "theodore": "федор", "fedor": "федор", "fyodor": "федор",
}
_SURNAME_FEMININE = re.compile(r"(ов|ев|ин|ын)а$")
_SURNAME_ADJECTIVAL = re.compile(r"(ская|ский|ской|цкая|цкий|цкой)$")
_ADJ_STEM = {"ская": "ск", "ский": "ск", "ской": "ск", "цкая": "цк", "цкий": "цк", "цкой": "цк"}


@lru_cache(maxsize=500_000)
def latin_skeleton(text: str | None) -> str | None:
    """Lower case, Cyrillic transliterated, then spelled one way whatever the scheme: Наталья,
    Natalia, Natalya and Natal'ya all become `natalia`; Юлия, Yuliya, Julia become `iulia`."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKD", text.lower().replace("ё", "е").replace("й", "\x00"))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).replace("\x00", "й")
    lat = "".join(_CYR_TO_LAT.get(c, c) for c in folded)
    lat = re.sub(r"[^a-z]", "", lat)
    for old, new in _SKELETON_RULES:
        lat = lat.replace(old, new)
    lat = re.sub(r"ff$", "v", lat)
    lat = re.sub(r"ander$", "andr", lat)
    lat = re.sub(r"(.)\1+", r"\1", lat)
    return lat or None


def latin_skeleton_sql(word: str) -> str:
    """`latin_skeleton` of a lower-case word of Latin letters (`[a-z]+`), as a DuckDB expression
    over the column `word`: the same rules in the same order, for the words of e-mail local parts,
    which int_identity_pairs_scored spells set-based over every address. tests/test_identity_keys.py
    holds the two to the same answers; change both or neither."""
    expr = word
    for old, new in _SKELETON_RULES:
        expr = f"replace({expr}, '{old}', '{new}')"
    expr = f"regexp_replace(regexp_replace({expr}, 'ff$', 'v'), 'ander$', 'andr')"
    # Doubled letters once: RE2 has no back-references, so a run of each letter in turn.
    for letter in "abcdefghijklmnopqrstuvwxyz":
        expr = f"regexp_replace({expr}, '{letter}{letter}+', '{letter}', 'g')"
    return f"nullif({expr}, '')"


def latin_surname_stem_sql(skeleton: str) -> str:
    """`surname_key` of a word of Latin letters, as a DuckDB expression over its skeleton (the
    column or expression `skeleton`): the gender ending off, as in surname_key."""
    return f"regexp_replace(regexp_replace({skeleton}, '(ov|ev|in)a$', '\\1'), '(sk|tsk)(aia|ii|i|oi)$', '\\1')"


@lru_cache(maxsize=500_000)
def surname_key(surname: str | None) -> str | None:
    """A surname without its gender ending, as a Latin skeleton: Иванов/Иванова/Ivanova -> `ivanov`,
    Вишневский/Вишневская -> `vishnevsk`."""
    if not surname or not surname.strip():
        return None
    word = surname.strip().lower().replace("ё", "е")
    word = _SURNAME_FEMININE.sub(r"\1", word)
    word = _SURNAME_ADJECTIVAL.sub(lambda m: _ADJ_STEM[m.group(1)], word)
    if len(word) > 5:  # Толстой / Толстая
        word = re.sub(r"(ая|ой|ый|ий)$", "", word)
    skeleton = latin_skeleton(word)
    if skeleton:
        skeleton = re.sub(r"(ov|ev|in)a$", r"\1", skeleton)
        skeleton = re.sub(r"(sk|tsk)(aia|ii|i|oi)$", r"\1", skeleton)
    return skeleton


_LATIN_GIVEN = {latin_skeleton(k): v for k, v in _GIVEN_FORMS.items()}


def _full_forms(word: str) -> str | None:
    """The full forms (Cyrillic, space-separated) a known diminutive or Western spelling stands for,
    by the word itself or by its Latin skeleton; `word` lower case, ё as е."""
    return _GIVEN_FORMS.get(word) or _LATIN_GIVEN.get(latin_skeleton(word) or "")


@lru_cache(maxsize=200_000)
def given_name_keys(given_name: str | None) -> tuple[str, ...]:
    """The full forms (Latin skeletons) a given name may stand for: Саша -> (aleksandr, aleksandra),
    Aleksandr -> (aleksandr,). Two given names agree when these sets meet."""
    if not given_name or not given_name.strip():
        return ()
    word = given_name.strip().split()[0].lower().replace("ё", "е")
    skeleton = latin_skeleton(word)
    if not skeleton:
        return ()
    forms = _full_forms(word)
    keys = {skeleton}
    if forms:
        keys |= {latin_skeleton(f) for f in forms.split()}
        keys.discard(None)
    return tuple(sorted(keys))


def name_parser_version() -> str:
    """Changes whenever the name rules can give another answer (this module, pymorphy3 and its
    dictionary): parse tables stamped with another version are re-parsed (cdp/parse_cache.py)."""
    from cdp.parse_cache import rules_version

    return rules_version(__name__, "pymorphy3", "pymorphy3-dicts-ru")
