"""Splink 4 (DuckDB backend) on the same records as our identity model, for DECISIONS.md's
comparison. Not part of the product and not a dependency: run it in its own environment,

    python -m venv /tmp/splink && /tmp/splink/bin/pip install 'splink>=4,<5'
    /tmp/splink/bin/python demo/splink_baseline.py --warehouse <eval.duckdb> --truth tests/fixtures/identity_eval/truth.csv

where the warehouse is the evaluation set built by `cdp.identity_eval.build_eval_warehouse` (or
`make quality`). Each record gets its name, birth date, city and its first valid, not overshared
e-mail and phone (Splink compares one value per column); the model is Splink's own defaults for
such data: NameComparison, EmailComparison, exact birth date / phone / city, the prior from the
e-mail and phone rules, u by random sampling, m by EM on three blocking rules. Prints pairwise
precision and recall of its clusters at a few thresholds and the time it took.
"""

from __future__ import annotations

import argparse
import time

import duckdb


def main() -> None:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--truth", required=True)
    args = ap.parse_args()
    src = duckdb.connect(args.warehouse, read_only=True)
    records = src.sql("""
        with ids as (
            select record_key,
                   min(identifier_value) filter (where identifier_type = 'email') as email,
                   min(identifier_value) filter (where identifier_type = 'phone') as phone
            from intermediate.int_identifiers_unioned
            anti join intermediate.int_identifiers_overshared using (identifier_type, identifier_value)
            group by 1
        )
        select r.record_key as unique_id, lower(replace(r.surname, 'ё', 'е')) as surname,
               lower(replace(r.given_name, 'ё', 'е')) as given_name, cast(r.birth_date as varchar) as birth_date,
               lower(r.city) as city, ids.email, ids.phone
        from intermediate.int_source_records_unioned r left join ids using (record_key)
    """).df()
    truth = src.execute("select source_system || ':' || source_record_id as unique_id, person_id "
                        "from read_csv(?, all_varchar = true)", [args.truth]).df()

    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[cl.NameComparison("surname"), cl.NameComparison("given_name"), cl.ExactMatch("birth_date"),
                     cl.EmailComparison("email"), cl.ExactMatch("phone"), cl.ExactMatch("city")],
        blocking_rules_to_generate_predictions=[block_on("surname", "given_name"), block_on("email"), block_on("phone"),
                                                block_on("given_name", "birth_date"), block_on("surname", "birth_date")],
    )
    linker = Linker(records, settings, db_api=DuckDBAPI())
    linker.training.estimate_probability_two_random_records_match([block_on("email"), block_on("phone")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("surname", "given_name"), block_on("phone"), block_on("email")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    results = {}
    for threshold in (0.5, 0.9, 0.95, 0.99):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold).as_pandas_dataframe()
        con = duckdb.connect()
        con.register("c", clusters)
        con.register("t", truth)
        predicted, true, correct = (float(x) for x in con.sql("""
            with j as (select c.cluster_id, t.person_id from c join t using (unique_id))
            select (select sum(n * (n - 1) / 2) from (select count(*) n from j group by cluster_id)),
                   (select sum(n * (n - 1) / 2) from (select count(*) n from j group by person_id)),
                   (select sum(n * (n - 1) / 2) from (select count(*) n from j group by cluster_id, person_id))
        """).fetchall()[0])
        results[threshold] = (round(correct / predicted, 4), round(correct / true, 4))
    print(f"splink {time.perf_counter() - started:.1f} s for {len(records):,} records")
    for threshold, (precision, recall) in results.items():
        print(f"threshold {threshold}: precision {precision:.4f}   recall {recall:.4f}")


if __name__ == "__main__":
    main()
