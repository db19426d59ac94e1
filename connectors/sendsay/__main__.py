"""Load Sendsay into a DuckDB file without Dagster: python -m connectors.sendsay --help"""

import argparse

import dlt

from connectors.sendsay import sendsay_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--base-url", required=True, help="host root, e.g. https://api.sendsay.ru")
ap.add_argument("--login", default="linzy-shop")
ap.add_argument("--api-key", required=True)
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("sendsay", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_sendsay")
print(pipeline.run(sendsay_source(base_url=args.base_url, login=args.login, api_key=args.api_key)))
