"""Load a spreadsheet inbox into a DuckDB file without Dagster: python -m connectors.spreadsheets --help"""

import argparse

import dlt

from connectors.spreadsheets import spreadsheets_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--inbox", required=True)
ap.add_argument("--mapping", default=None)
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("spreadsheets", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_spreadsheets")
print(pipeline.run(spreadsheets_source(inbox=args.inbox, mapping_path=args.mapping)))
