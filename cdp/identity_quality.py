"""How good is identity resolution? Pairwise precision, recall and F1 of `customer_identity_map`
against the generator's ground truth (`ground_truth/identity.csv`), which the pipeline never reads.

A pair is two source records. Predicted pairs share a `customer_id`; true pairs share a
`person_id`. Precision = true predicted pairs / predicted pairs (how often a merge is right),
recall = true predicted pairs / true pairs (how many of the real duplicates were found). Counted
in DuckDB from cluster sizes (sum of n·(n-1)/2), never by materialising pairs, so 100,000
customers take well under a second.

    python -m cdp.identity_quality --warehouse data/warehouse.duckdb --data data/demo
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Quality:
    records: int  # records present in both the map and the ground truth
    customers: int
    people: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    f1: float
    unmatched_records: int  # in the map but not in the ground truth, or the other way round


def measure(warehouse: Path, ground_truth: Path) -> Quality:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(
            "create temp table truth as select source_system::varchar as source_system, "
            "source_record_id::varchar as source_record_id, person_id from read_csv(?, all_varchar = true)",
            [str(ground_truth)],
        )
        # The generator names every inbox row `spreadsheets` with the file's record id; in the
        # warehouse each mapping entry is a source system of its own: translate through staging.
        members = con.execute("select count(*) from information_schema.tables where table_schema = 'staging' "
                              "and table_name = 'stg_spreadsheets__members'").fetchone()[0]
        if members:
            con.execute("""
                create or replace temp table truth as
                select coalesce(s.source_system, t.source_system) as source_system,
                       coalesce(s.source_record_id, t.source_record_id) as source_record_id, t.person_id
                from truth t
                left join staging.stg_spreadsheets__members s
                  on t.source_system = 'spreadsheets' and s.member_record_id = t.source_record_id
            """)
        row = con.execute("""
            with joined as (
                select m.customer_id, t.person_id
                from marts.customer_identity_map m
                join truth t using (source_system, source_record_id)
            ),
            pairs as (
                select
                    (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by customer_id)) as predicted,
                    (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by person_id)) as truth,
                    (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by customer_id, person_id)) as correct
            )
            select
                (select count(*) from joined),
                (select count(distinct customer_id) from joined),
                (select count(distinct person_id) from joined),
                predicted, truth, correct,
                (select count(*) from marts.customer_identity_map m anti join truth t using (source_system, source_record_id))
                + (select count(*) from truth t anti join marts.customer_identity_map m using (source_system, source_record_id))
            from pairs
        """).fetchone()
    finally:
        con.close()
    records, customers, people, predicted, truth, correct, unmatched = (int(x or 0) for x in row)
    precision = correct / predicted if predicted else 1.0
    recall = correct / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(records, customers, people, predicted, truth, correct, round(precision, 5), round(recall, 5),
                   round(f1, 5), unmatched)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Pairwise precision/recall/F1 of identity resolution against the demo ground truth.")
    ap.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    ap.add_argument("--data", type=Path, default=Path("data/demo"), help="folder written by `python -m demo.generate`")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    q = measure(args.warehouse, args.data / "ground_truth" / "identity.csv")
    if args.json:
        print(json.dumps(asdict(q)))
        return
    print(f"records {q.records:,} -> customers {q.customers:,} (true people {q.people:,})")
    print(f"pairs: predicted {q.predicted_pairs:,}, true {q.true_pairs:,}, correct {q.correct_pairs:,}")
    print(f"precision {q.precision:.4f}   recall {q.recall:.4f}   F1 {q.f1:.4f}")
    if q.unmatched_records:
        print(f"warning: {q.unmatched_records:,} records are in only one of the map and the ground truth")


if __name__ == "__main__":
    main()
