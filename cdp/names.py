"""Which word of a one-field Russian full name is the surname, the given name and the patronymic.

Only names that arrive in one field are parsed (1C's Наименование, a CRM manager typing the whole
name into one box, a spreadsheet's ФИО); separate columns are taken as the source gave them.
The order varies ("Иванов Иван Иванович", "Иван Иванович Иванов", "Иван Иванов"), so each
word's role is scored with OpenCorpora's dictionary through pymorphy3 (tags Surn, Name, Patr) and
the most likely assignment wins, weighted by how often each order occurs in Russian records.
Patronymics are also recognised by their endings (-вич, -вна, -ична, -инична, -ич as in Фомич,
Кузьмич, Ильич) and by the Turkic оглы/кызы/улы/гызы, which stay attached to the father's name.
"""

from __future__ import annotations

import re
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
_TAGS = {"surname": "Surn", "given_name": "Name", "patronymic": "Patr"}


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3  # ~0.4 s to load the dictionary: only when a name is parsed

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def _role_likelihoods(word: str) -> dict[str, float]:
    """P(role | word) from the dictionary's parses of the word in the nominative, smoothed: a
    surname is an open class (any unknown word may be one), a given name a closed one."""
    folded = word.lower().replace("ё", "е")
    if folded in _TURKIC_PATRONYMIC:
        return {"surname": 0.0, "given_name": 0.0, "patronymic": 1.0, "dictionary_given": 0.0, "dictionary_surname": 0.0}
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


@lru_cache(maxsize=500_000)
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
    orders = _ORDERS_3 if len(words) == 3 else _ORDERS_2
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


__all__ = ["PersonName", "split_full_name", "split_full_names"]
