"""Load RetailCRM into a DuckDB file without Dagster: python -m connectors.retailcrm --help"""

import argparse

import dlt

from connectors.retailcrm import retailcrm_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--base-url", required=True)
ap.add_argument("--api-key", required=True)
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("retailcrm", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_retailcrm")
print(pipeline.run(retailcrm_source(base_url=args.base_url, api_key=args.api_key)))
