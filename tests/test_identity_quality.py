"""Identity quality on data the demo generator did not write, and the scorer itself.

The evaluation set (tests/fixtures/identity_eval/, written by its own make_eval_set.py) goes through
the real pipeline as a user's exports do; the identity map must not fall below today's figures on
it. The demo's own floors are asserted by tests/assets/test_end_to_end.py. The scorer is checked on
a warehouse small enough to count by hand.
"""

from __future__ import annotations

import csv
import json
import runpy
from pathlib import Path

import duckdb
import pytest

from cdp.identity_eval import build_eval_warehouse
from cdp.identity_quality import main, measure, measure_naive, planted_breakdown, planted_failures

EVAL_SET = Path(__file__).parent / "fixtures" / "identity_eval"

# Floors a little under the figures measured with the identity model of issue 13 (pairwise guards
# on shared contacts, repaired e-mails, swapped name columns, the Fellegi-Sunter pass with name
# weights by how common each part is; dbt_project/DECISIONS.md, "Identity resolution"). The
# deterministic rules alone measured 0.92581 / 0.92842.
# A change that lowers either fails here; raise them as the model improves.
EVAL_PRECISION_FLOOR = 0.995  # measured 1.0000 (naive rule 0.9216)
EVAL_RECALL_FLOOR = 0.970  # measured 0.9728 (naive rule 0.8741); 0.9707 before the birth year in addresses
# Per planted class, today's count of planted pairs put in one customer: false-merge classes may
# not merge more of them, missed-link classes may not link fewer.
FALSE_MERGE_CEILINGS = {"household_phone": 0, "namesakes": 0, "reassigned_number": 0, "relative_phone": 0,
                        "shared_email": 0, "twins": 0}
MISSED_LINK_FLOORS = {"changed_phone": 40, "diminutive": 24, "email_typo": 31, "name_columns_swapped": 14,
                      "name_order_swapped": 25, "phone_digit_typo": 20, "phone_only_vs_email_only": 50,
                      "switchboard": 47, "transliteration": 6, "yo_ye": 25}


@pytest.fixture(scope="module")
def eval_warehouse(tmp_path_factory) -> Path:
    return build_eval_warehouse(EVAL_SET, tmp_path_factory.mktemp("identity_eval"))


def test_the_identity_map_holds_its_floors_on_the_evaluation_set(eval_warehouse):
    q = measure(eval_warehouse, EVAL_SET / "truth.csv")
    assert q.unmatched_records == 0, "every exported record is in the map, and only those"
    assert q.records == len((EVAL_SET / "truth.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert q.precision >= EVAL_PRECISION_FLOOR, q
    assert q.recall >= EVAL_RECALL_FLOOR, q
    naive = measure_naive(eval_warehouse, EVAL_SET / "truth.csv")
    assert q.f1 >= naive.f1, (q, naive)


def test_each_planted_class_is_no_worse_than_today(eval_warehouse):
    cases = {c.case: c for c in planted_breakdown(eval_warehouse, EVAL_SET / "planted.csv")}
    assert set(cases) == set(FALSE_MERGE_CEILINGS) | set(MISSED_LINK_FLOORS)
    worse = {name: cases[name].linked for name, most in FALSE_MERGE_CEILINGS.items() if cases[name].linked > most}
    worse |= {name: cases[name].linked for name, least in MISSED_LINK_FLOORS.items() if cases[name].linked < least}
    assert worse == {}


def test_compare_command_scores_the_built_set_as_json(eval_warehouse, capsys):
    assert main(["compare", "--eval-warehouse", str(eval_warehouse), "--no-demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["eval"]
    assert out["model"] == measure(eval_warehouse, EVAL_SET / "truth.csv").__dict__
    assert out["naive"]["recall"] < out["model"]["recall"]
    assert {c["case"] for c in out["planted"]} == set(FALSE_MERGE_CEILINGS) | set(MISSED_LINK_FLOORS)


def test_every_pair_the_naive_rule_misses_is_a_planted_one(eval_warehouse):
    """The set's promise, checked through the pipeline: outside the planted cases everyone's
    records share a phone or an e-mail, so the hard pairs are exactly the labelled ones."""
    naive = measure_naive(eval_warehouse, EVAL_SET / "truth.csv")
    missed_planted = sum(c.pairs - c.naive_linked for c in planted_breakdown(eval_warehouse, EVAL_SET / "planted.csv")
                         if c.kind == "missed_link")
    assert naive.true_pairs - naive.correct_pairs == missed_planted


def test_the_committed_set_is_what_its_script_writes(tmp_path):
    counts = runpy.run_path(str(EVAL_SET / "make_eval_set.py"), run_name="make_eval_set")["build"](tmp_path)
    for name in ("truth.csv", "planted.csv", "inbox/crm_clients.csv", "inbox/1c_kontragenty.csv", "inbox/esp_contacts.csv"):
        assert (tmp_path / name).read_bytes() == (EVAL_SET / name).read_bytes(), name
    assert 2_000 <= counts["people"] <= 3_000 and 4_000 <= counts["records"] <= 6_000
    source = (EVAL_SET / "make_eval_set.py").read_text(encoding="utf-8")
    assert "import demo" not in source and "from demo" not in source
    assert sum(f.stat().st_size for f in EVAL_SET.rglob("*") if f.is_file()) < 2_000_000


# --- The scorer on a hand-made warehouse ------------------------------------------------------
#   record  person  model customer   identifiers (raw)
#   a1      P1      X                phone "8 (912) 000-00-01", email "family@x.ru"
#   a2      P1      X                phone "+7 912 000 00 01", email "a@x.ru"
#   a3      P1      Y                email " A@X.RU"
#   b1      P2      X                email "family@x.ru", phone "bad-1"
#   c1      P3      Z                phone "+7 912 000 00 02", email "family@x.ru"
#   c2      P3      Z                phone "89120000002"
#   d1      P3      W                email "family@x.ru", phone "bad-1"
#   e1      (none)  V                email "family@x.ru"
# Model: predicted pairs X 3 + Z 1 = 4; true pairs P1 3 + P3 3 = 6; correct (X,P1) 1 + (Z,P3) 1 = 2.
# Naive rule: "family@x.ru" is on 5 records (dropped), "bad-1" is no valid phone; a1-a2 by phone,
# a2-a3 by e-mail (case and spaces), c1-c2 by phone: {a1,a2,a3} {b1} {c1,c2} {d1} {e1}:
# predicted 3 + 1 = 4, all correct.
RECORDS = [("a1", "X"), ("a2", "X"), ("a3", "Y"), ("b1", "X"), ("c1", "Z"), ("c2", "Z"), ("d1", "W"), ("e1", "V")]
TRUTH = [("a1", "P1"), ("a2", "P1"), ("a3", "P1"), ("b1", "P2"), ("c1", "P3"), ("c2", "P3"), ("d1", "P3")]
IDENTIFIERS = [("a1", "phone", "8 (912) 000-00-01"), ("a1", "email", "family@x.ru"), ("a2", "phone", "+7 912 000 00 01"),
               ("a2", "email", "a@x.ru"), ("a3", "email", " A@X.RU"), ("b1", "email", "family@x.ru"),
               ("b1", "phone", "bad-1"), ("c1", "phone", "+7 912 000 00 02"), ("c1", "email", "family@x.ru"),
               ("c2", "phone", "89120000002"), ("d1", "email", "family@x.ru"), ("d1", "phone", "bad-1"),
               ("e1", "email", "family@x.ru")]
PHONES = [("8 (912) 000-00-01", "+79120000001"), ("+7 912 000 00 01", "+79120000001"), ("bad-1", None),
          ("+7 912 000 00 02", "+79120000002"), ("89120000002", "+79120000002")]
PLANTED = [("household", "false_merge", "a1", "b1"), ("household", "false_merge", "c1", "b1"),
           ("changed", "missed_link", "a1", "a3"), ("changed", "missed_link", "c2", "d1")]


@pytest.fixture()
def tiny(tmp_path) -> Path:
    warehouse = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema intermediate")
        con.execute("create table marts.customer_identity_map (source_system varchar, source_record_id varchar, "
                    "customer_id varchar, record_key varchar)")
        con.executemany("insert into marts.customer_identity_map values ('crm', ?, ?, 'crm:' || ?)",
                        [(r, c, r) for r, c in RECORDS])
        con.execute("create table intermediate.int_identifiers_raw (record_key varchar, identifier_type varchar, "
                    "identifier_raw varchar)")
        con.executemany("insert into intermediate.int_identifiers_raw values ('crm:' || ?, ?, ?)", IDENTIFIERS)
        con.execute("create table intermediate.int_phone_numbers_parsed (phone_raw varchar, phone varchar)")
        con.executemany("insert into intermediate.int_phone_numbers_parsed values (?, ?)", PHONES)
    _csv(tmp_path / "truth.csv", ["source_system", "source_record_id", "person_id"], [("crm", r, p) for r, p in TRUTH])
    _csv(tmp_path / "planted.csv", ["case", "kind", "source_system_a", "source_record_id_a", "source_system_b",
                                    "source_record_id_b", "detail"],
         [(case, kind, "crm", a, "crm", b, "") for case, kind, a, b in PLANTED])
    return tmp_path


def _csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def test_pairwise_figures_counted_by_hand(tiny):
    q = measure(tiny / "tiny.duckdb", tiny / "truth.csv")
    assert (q.records, q.customers, q.people) == (7, 4, 3)
    assert (q.predicted_pairs, q.true_pairs, q.correct_pairs) == (4, 6, 2)
    assert (q.precision, q.recall, q.f1) == (0.5, round(2 / 6, 5), 0.4)
    assert q.unmatched_records == 1  # e1: in the map, not in the truth


def test_naive_rule_counted_by_hand(tiny):
    q = measure_naive(tiny / "tiny.duckdb", tiny / "truth.csv")
    assert (q.customers, q.predicted_pairs, q.true_pairs, q.correct_pairs) == (4, 4, 6, 4)
    assert (q.precision, q.recall) == (1.0, round(4 / 6, 5))


def test_planted_classes_counted_by_hand(tiny):
    cases = {c.case: c for c in planted_breakdown(tiny / "tiny.duckdb", tiny / "planted.csv")}
    assert (cases["household"].pairs, cases["household"].linked, cases["household"].naive_linked) == (2, 1, 0)
    assert (cases["changed"].pairs, cases["changed"].linked, cases["changed"].naive_linked) == (2, 0, 1)
    wrong = {(f["case"], f["record_key_a"], f["record_key_b"], f["naive_linked"])
             for f in planted_failures(tiny / "tiny.duckdb", tiny / "planted.csv")}
    assert wrong == {("household", "crm:a1", "crm:b1", False), ("changed", "crm:a1", "crm:a3", True),
                     ("changed", "crm:c2", "crm:d1", False)}


def test_score_command_prints_json(tiny, capsys):
    assert main(["score", "--warehouse", str(tiny / "tiny.duckdb"), "--truth", str(tiny / "truth.csv"),
                 "--planted", str(tiny / "planted.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["correct_pairs"] == 2 and out["naive"]["correct_pairs"] == 4
    assert {c["case"] for c in out["planted"]} == {"household", "changed"}
