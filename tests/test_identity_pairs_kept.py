"""int_identity_pairs_shared judges again only the pairs a change can move and keeps the rest
(macros/identity_pairs_kept.sql), on hand-made identity tables: a change that reaches beyond the
changed record's own pairs, and a kept table that no longer matches its fingerprints. Each build
is the real `python -m cdp.dbt_cli run` of the two models, and each result is held to a build
that judges every pair (`identity_incremental: false`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]

# Ivanova Anna and Ivanova Olga (another given name: a conflict) and a nameless mailing-list row on
# one phone; the Petrovs, one person in a CRM and in 1C, on another.
RECORDS = """
create schema intermediate;
create table intermediate.int_identity_records as select * from (values
    ('crm:1', 'crm', '1', 'ivanova', 'anna', ['anna'], null, date '1990-01-01', null, false, 'ivanova|anna', true, ['anna', 'ivanova']),
    ('crm:2', 'crm', '2', 'ivanova', 'olga', ['olga'], null, null, null, false, 'ivanova|olga', true, ['olga', 'ivanova']),
    ('esp:x', 'esp', 'x', null, null, []::varchar[], null, null, null, false, null, false, []::varchar[]),
    ('crm:3', 'crm', '3', 'petrov', 'ivan', ['ivan'], null, date '1985-05-05', null, false, 'petrov|ivan', true, ['ivan', 'petrov']),
    ('onec:7', 'onec', '7', 'petrov', 'ivan', ['ivan'], null, date '1985-05-05', null, false, 'petrov|ivan', true, ['ivan', 'petrov'])
) as t(record_key, source_system, source_record_id, surname_key, given_key, given_keys, patronymic_key,
       birth_date, city_key, is_order_only, person_key, has_full_name, any_name_keys);
create table intermediate.int_identifiers_pairable as select * from (values
    ('crm:1', 'phone', '+79120000001', false),
    ('crm:2', 'phone', '+79120000001', false),
    ('esp:x', 'phone', '+79120000001', false),
    ('crm:3', 'phone', '+79120000003', false),
    ('onec:7', 'phone', '+79120000003', false)
) as t(record_key, identifier_type, identifier_value, is_repaired);
"""

PAIRS = "intermediate.int_identity_pairs_shared"
DIGEST = f"select count(*), coalesce(sum(hash(p)::hugeint), 0) from {PAIRS} as p"


def _build(warehouse: Path, judge_everything: bool = False) -> None:
    work = warehouse.parent
    env = {**os.environ, "CDP_DUCKDB_PATH": str(warehouse), "CDP_STATE_DIR": str(work / "state")}
    args = ["run", "--select", "int_identity_pair_fingerprints", "int_identity_pairs_shared",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    if judge_everything:
        from cdp.dbt_cli import dbt_vars

        args += ["--vars", json.dumps({**dbt_vars(), "identity_incremental": False})]
    done = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def _pairs(warehouse: Path) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select record_key_a, record_key_b, is_linked, evidence from {PAIRS}").fetchall()
    return {(a, b): (linked, tuple(evidence)) for a, b, linked, evidence in rows}


def _changed(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {r[0] for r in con.execute("select record_key from intermediate.int_identity_pair_fingerprints where is_changed").fetchall()}


def test_a_contact_one_record_leaves_is_judged_again_for_the_pairs_it_no_longer_holds_apart(tmp_path):
    """Olga leaves the phone: it is no longer a contact two people in conflict share, so Anna and
    the nameless row on it are now linked, though neither of them changed. An untouched pair keeps
    what its table holds (a mark planted in it, the kept digest made to match, survives)."""
    kept = tmp_path / "kept" / "warehouse.duckdb"
    kept.parent.mkdir()
    with duckdb.connect(str(kept)) as con:
        con.execute(RECORDS)
    _build(kept)
    before = _pairs(kept)
    assert before[("crm:1", "esp:x")] == (False, ("phone: ambiguous shared contact",))
    assert before[("crm:1", "crm:2")] == (False, ("phone: shared contact",))
    assert before[("crm:3", "onec:7")][0] is True
    assert _changed(kept) == {"crm:1", "crm:2", "esp:x", "crm:3", "onec:7"}, "a first build judges every record"

    with duckdb.connect(str(kept)) as con:
        con.execute("delete from intermediate.int_identifiers_pairable where record_key = 'crm:2'")
    scratch = tmp_path / "scratch" / "warehouse.duckdb"
    scratch.parent.mkdir()
    shutil.copy(kept, scratch)
    with duckdb.connect(str(kept)) as con:
        con.execute(f"update {PAIRS} set evidence = ['planted'] where record_key_a = 'crm:3'")
        con.execute("update ops.identity_pair_fingerprints set pairs = ?, digest = ?", list(con.execute(DIGEST).fetchone()))

    _build(kept)
    _build(scratch, judge_everything=True)
    assert _changed(kept) == {"crm:2"}
    after = _pairs(kept)
    assert after[("crm:1", "esp:x")] == (True, ("phone: linked",)), "the pair the change released was not judged again"
    assert after[("crm:3", "onec:7")] == (True, ("planted",)), "an untouched pair was judged again"
    after[("crm:3", "onec:7")] = _pairs(scratch)[("crm:3", "onec:7")]
    assert after == _pairs(scratch)


def test_a_pairs_table_that_is_not_the_one_its_fingerprints_were_kept_with_is_judged_in_full(tmp_path):
    """Edited by hand since its last build (or left by a build that stopped half-way), the table is
    not trusted: nothing changed, yet every pair is judged again and the edit is gone."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(RECORDS)
    _build(warehouse)
    built = _pairs(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"update {PAIRS} set is_linked = false, evidence = ['edited'] where record_key_a = 'crm:3'")
    _build(warehouse)
    assert _changed(warehouse) == set()
    assert _pairs(warehouse) == built
