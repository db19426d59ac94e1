"""Load a spreadsheet inbox into a DuckDB file without Dagster, or take a bad file's rows out again.

    python -m connectors.spreadsheets [load] --inbox data/demo/inbox [--duckdb data/warehouse.duckdb]
    python -m connectors.spreadsheets withdraw --inbox data/demo/inbox [--duckdb ...] FILE...

`withdraw` is the way back from a bad load: a normal load run that also deletes every row of the
named files (as the inbox lists them) from `raw_spreadsheets.members` and `.orders`, and their
quarantine rows. While the inbox still holds exactly that file it stays out; a fixed file, or the
file put back after it has left the inbox, loads again. (A file that merely leaves the inbox keeps
its rows: moving processed files aside is normal.)

The dlt state lives beside the DuckDB file (`.dlt_pipelines/`), as for the Dagster ingest asset,
so both see the same files as loaded. Credentials for an S3 inbox are taken from dlt's usual config
(`SOURCES__SPREADSHEETS__S3_ACCESS_KEY_ID`, `.dlt/secrets.toml`), never from the command line.
"""

import argparse
import sys
from pathlib import Path

import dlt
import duckdb

from connectors.spreadsheets import spreadsheets_source


def _parser(withdraw: bool) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m connectors.spreadsheets" + (" withdraw" if withdraw else ""),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--inbox", required=True, help="a folder, or s3://bucket/prefix/")
    ap.add_argument("--mapping", default=None, help="YAML mapping (default: connectors/spreadsheets/default_mapping.yml)")
    ap.add_argument("--duckdb", default="data/warehouse.duckdb")
    ap.add_argument("--s3-endpoint-url", default=None)
    ap.add_argument("--s3-region", default=None)
    if withdraw:
        ap.add_argument("files", nargs="+", metavar="FILE", help="file names as the inbox lists them")
    return ap


def _forget_quarantine(path: str, files: list[str]) -> int:
    """Quarantine rows of the withdrawn files (their position starts with the file name)."""
    with duckdb.connect(path) as con:
        if not con.execute("select count(*) from information_schema.tables where table_schema = 'raw_spreadsheets' "
                           "and table_name = 'quarantine'").fetchone()[0]:
            return 0
        gone = 0
        for name in files:
            where = "source = 'spreadsheets' and (position = ? or starts_with(position, ? || ' '))"
            gone += con.execute(f"select count(*) from raw_spreadsheets.quarantine where {where}", [name, name]).fetchone()[0]
            con.execute(f"delete from raw_spreadsheets.quarantine where {where}", [name, name])
        return gone


def main(argv: list[str]) -> None:
    command = argv[0] if argv and argv[0] in ("load", "withdraw") else None
    withdraw = command == "withdraw"
    args = _parser(withdraw).parse_args(argv[1:] if command else argv)
    pipeline = dlt.pipeline("spreadsheets", destination=dlt.destinations.duckdb(args.duckdb),
                            dataset_name="raw_spreadsheets",
                            pipelines_dir=str(Path(args.duckdb).resolve().parent / ".dlt_pipelines"))
    source = spreadsheets_source(inbox=args.inbox, mapping_path=args.mapping, s3_endpoint_url=args.s3_endpoint_url,
                                 s3_region=args.s3_region, withdraw=args.files if withdraw else None)
    print(pipeline.run(source, loader_file_format="parquet"))
    if withdraw:
        dropped = _forget_quarantine(args.duckdb, args.files)
        print(f"withdrew {', '.join(args.files)}: their rows are out of raw_spreadsheets "
              f"({dropped} quarantine row(s) removed too)")


if __name__ == "__main__":
    main(sys.argv[1:])
