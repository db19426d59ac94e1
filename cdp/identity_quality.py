"""How good is identity resolution? Pairwise precision, recall and F1 of `customer_identity_map`
against a ground truth the pipeline never reads: the demo generator's (`ground_truth/identity.csv`)
or the independent evaluation set's (`tests/fixtures/identity_eval/truth.csv`).

A pair is two source records. Predicted pairs share a `customer_id`; true pairs share a
`person_id`. Precision = true predicted pairs / predicted pairs (how often a merge is right),
recall = true predicted pairs / true pairs (how many of the real duplicates were found). Counted
in DuckDB from cluster sizes (sum of n·(n-1)/2), never by materialising pairs, so 100,000
customers take well under a second.

Beside the model, the same records are clustered by the naive rule (link by E.164 phone or
lower-cased e-mail, drop identifiers held by more than 4 records, connected components): what
the identity layer adds is the difference between the two. A set with planted hard cases
(`planted.csv`: pairs of records labelled with their class) is also scored per class.

    python -m cdp.identity_quality score --warehouse W --truth truth.csv [--planted planted.csv]
    python -m cdp.identity_quality --warehouse data/warehouse.duckdb --data data/demo   # the demo's truth
    python -m cdp.identity_quality compare   # the evaluation set and the demo side by side (cdp/identity_eval.py)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

NAIVE_MAX_RECORDS = 4  # the naive rule's overshared limit: records holding one phone or e-mail


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


@dataclass(frozen=True)
class PlantedCase:
    """One class of planted hard cases. `linked` counts the planted pairs the clustering put in one
    customer: for a false-merge class those are wrong merges (fewer is better), for a missed-link
    class those are found links (more is better)."""
    case: str
    kind: str  # false_merge | missed_link
    pairs: int
    linked: int
    naive_linked: int


def measure(warehouse: Path, ground_truth: Path) -> Quality:
    """The identity map's figures against one truth file."""
    with _connect(warehouse, ground_truth) as con:
        return _score(con, "marts.customer_identity_map")


def measure_naive(warehouse: Path, ground_truth: Path) -> Quality:
    """The naive rule's figures on the same records and truth."""
    with _connect(warehouse, ground_truth) as con:
        _naive_clusters(con)
        return _score(con, "naive_map")


def planted_breakdown(warehouse: Path, planted: Path) -> list[PlantedCase]:
    """Per planted class, how many of its pairs the model and the naive rule linked."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _naive_clusters(con)
        con.execute("create temp table planted as select * from read_csv(?, all_varchar = true)", [str(planted)])
        rows = con.execute("""
            with pairs as (
                select p."case", p.kind,
                       ma.customer_id = mb.customer_id as linked,
                       na.customer_id = nb.customer_id as naive_linked
                from planted p
                left join marts.customer_identity_map ma
                  on ma.source_system = p.source_system_a and ma.source_record_id = p.source_record_id_a
                left join marts.customer_identity_map mb
                  on mb.source_system = p.source_system_b and mb.source_record_id = p.source_record_id_b
                left join naive_map na
                  on na.source_system = p.source_system_a and na.source_record_id = p.source_record_id_a
                left join naive_map nb
                  on nb.source_system = p.source_system_b and nb.source_record_id = p.source_record_id_b
            )
            select "case", kind, count(*), count(*) filter (where linked), count(*) filter (where naive_linked)
            from pairs group by all order by kind, "case"
        """).fetchall()
    return [PlantedCase(case, kind, int(n), int(linked), int(naive)) for case, kind, n, linked, naive in rows]


class _connect:
    """A read-only connection to the warehouse with the truth loaded as temp table `truth`."""

    def __init__(self, warehouse: Path, ground_truth: Path) -> None:
        self.warehouse, self.ground_truth = warehouse, ground_truth

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con = duckdb.connect(str(self.warehouse), read_only=True)
        _load_truth(self.con, self.ground_truth)
        return self.con

    def __exit__(self, *exc) -> None:
        self.con.close()


def _load_truth(con: duckdb.DuckDBPyConnection, ground_truth: Path) -> None:
    con.execute(
        "create temp table truth as select source_system::varchar as source_system, "
        "source_record_id::varchar as source_record_id, person_id from read_csv(?, all_varchar = true)",
        [str(ground_truth)],
    )
    # The demo generator names every inbox row `spreadsheets` with the file's record id; in the
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


def _score(con: duckdb.DuckDBPyConnection, clusters: str) -> Quality:
    """Pairwise figures of `clusters` (source_system, source_record_id, customer_id) against `truth`."""
    row = con.execute(f"""
        with joined as (
            select m.customer_id, t.person_id
            from {clusters} m
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
            (select count(*) from {clusters} m anti join truth t using (source_system, source_record_id))
            + (select count(*) from truth t anti join {clusters} m using (source_system, source_record_id))
        from pairs
    """).fetchone()
    records, customers, people, predicted, truth, correct, unmatched = (int(x or 0) for x in row)
    precision = correct / predicted if predicted else 1.0
    recall = correct / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(records, customers, people, predicted, truth, correct, round(precision, 5), round(recall, 5),
                   round(f1, 5), unmatched)


def _naive_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `naive_map` (source_system, source_record_id, customer_id): the naive rule over
    the same records as the identity map, in plain SQL. Identifiers are the sources' own values
    (`int_identifiers_raw`) with phones in E.164 from the parse table (valid numbers only) and
    e-mails trimmed and lower-cased as written. Components by label propagation: each record
    takes the smallest label among its neighbours until nothing changes."""
    con.execute("""
        create or replace temp table naive_ids as
        select distinct i.record_key, 'phone:' || p.phone as identifier
        from intermediate.int_identifiers_raw i
        join intermediate.int_phone_numbers_parsed p on p.phone_raw = i.identifier_raw
        where i.identifier_type = 'phone' and p.phone is not null
        union
        select distinct record_key, 'email:' || lower(trim(identifier_raw))
        from intermediate.int_identifiers_raw
        where identifier_type = 'email' and contains(identifier_raw, '@')
    """)
    con.execute(f"""
        create or replace temp table naive_edges as
        with kept as (
            select identifier from naive_ids group by identifier
            having count(distinct record_key) between 2 and {NAIVE_MAX_RECORDS}
        )
        select distinct a.record_key as src, b.record_key as dst
        from naive_ids a join naive_ids b using (identifier) semi join kept using (identifier)
        where a.record_key <> b.record_key
    """)
    con.execute("create or replace temp table naive_labels as "
                "select record_key, record_key as label from marts.customer_identity_map")
    while True:
        con.execute("""
            create or replace temp table naive_next as
            select l.record_key, least(l.label, coalesce(min(n.label), l.label)) as label
            from naive_labels l
            left join naive_edges e on e.src = l.record_key
            left join naive_labels n on n.record_key = e.dst
            group by l.record_key, l.label
        """)
        changed = con.execute("select count(*) from naive_next join naive_labels l using (record_key) "
                              "where naive_next.label <> l.label").fetchone()[0]
        con.execute("create or replace temp table naive_labels as select * from naive_next")
        if not changed:
            break
    con.execute("""
        create or replace temp table naive_map as
        select m.source_system, m.source_record_id, l.label as customer_id
        from marts.customer_identity_map m join naive_labels l using (record_key)
    """)


# --- Command line -----------------------------------------------------------------------------
def _print_quality(q: Quality, label: str = "") -> None:
    print(f"{label}records {q.records:,} -> customers {q.customers:,} (true people {q.people:,})")
    print(f"{label}pairs: predicted {q.predicted_pairs:,}, true {q.true_pairs:,}, correct {q.correct_pairs:,}")
    print(f"{label}precision {q.precision:.4f}   recall {q.recall:.4f}   F1 {q.f1:.4f}")
    if q.unmatched_records:
        print(f"{label}warning: {q.unmatched_records:,} records are in only one of the map and the ground truth")


def print_planted(cases: list[PlantedCase]) -> None:
    print("Planted hard cases (pairs of records; 'linked' = put in one customer):")
    print(f"  {'class':<26}{'kind':<13}{'pairs':>6}{'model':>8}{'naive':>8}   reading")
    for c in cases:
        reading = "wrongly merged (fewer is better)" if c.kind == "false_merge" else "linked (more is better)"
        print(f"  {c.case:<26}{c.kind:<13}{c.pairs:>6}{c.linked:>8}{c.naive_linked:>8}   {reading}")


def _score_command(args: argparse.Namespace) -> int:
    truth = args.truth or (args.data / "ground_truth" / "identity.csv")
    model = measure(args.warehouse, truth)
    naive = measure_naive(args.warehouse, truth) if args.naive or args.planted else None
    planted = planted_breakdown(args.warehouse, args.planted) if args.planted else None
    if args.json:
        out: dict = {"model": asdict(model)}
        if naive:
            out["naive"] = asdict(naive)
        if planted is not None:
            out["planted"] = [asdict(c) for c in planted]
        print(json.dumps(out if naive or planted is not None else asdict(model), ensure_ascii=False))
        return 0
    _print_quality(model)
    if naive:
        print(f"naive rule: precision {naive.precision:.4f}   recall {naive.recall:.4f}   F1 {naive.f1:.4f}")
    if planted is not None:
        print_planted(planted)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("score", "compare", "-h", "--help"):
        argv.insert(0, "score")  # the original form: `--warehouse W --data D`
    ap = argparse.ArgumentParser(prog="python -m cdp.identity_quality",
                                 description="Pairwise precision/recall/F1 of identity resolution against a ground truth.")
    sub = ap.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score one warehouse against one truth file")
    score.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    score.add_argument("--truth", type=Path, help="CSV with source_system, source_record_id, person_id")
    score.add_argument("--data", type=Path, default=Path("data/demo"),
                       help="folder written by `python -m demo.generate` (its ground_truth/identity.csv), when no --truth")
    score.add_argument("--planted", type=Path, help="planted.csv of an evaluation set: also score each planted class")
    score.add_argument("--naive", action="store_true", help="also score the naive rule on the same records")
    score.add_argument("--json", action="store_true", help="print the figures as JSON")
    compare = sub.add_parser("compare", help="build the evaluation set and the demo, score both side by side")
    from cdp.identity_eval import add_compare_arguments

    add_compare_arguments(compare)
    args = ap.parse_args(argv)
    if args.command == "score":
        return _score_command(args)
    from cdp.identity_eval import compare_command

    return compare_command(args)


if __name__ == "__main__":
    sys.exit(main())
