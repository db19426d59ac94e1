"""Load Unisender into a DuckDB file without Dagster: python -m connectors.unisender --help"""

import argparse

import dlt

from connectors.unisender import unisender_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--base-url", required=True)
ap.add_argument("--api-key", required=True)
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("unisender", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_unisender")
print(pipeline.run(unisender_source(base_url=args.base_url, api_key=args.api_key)))
