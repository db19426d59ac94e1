"""Load Bitrix24 into a DuckDB file without Dagster: python -m connectors.bitrix24 --help"""

import argparse

import dlt

from connectors.bitrix24 import bitrix24_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--base-url", required=True, help="portal address, or the whole incoming-webhook URL")
ap.add_argument("--api-key", default="", help="the webhook code (empty when --base-url is the whole webhook URL)")
ap.add_argument("--user-id", type=int, default=1, help="the webhook's user, when --base-url does not name it")
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("bitrix24", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_bitrix24")
print(pipeline.run(bitrix24_source(base_url=args.base_url, api_key=args.api_key, user_id=args.user_id)))
