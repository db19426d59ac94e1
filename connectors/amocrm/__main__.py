"""Load amoCRM into a DuckDB file without Dagster: python -m connectors.amocrm --help"""

import argparse

import dlt

from connectors.amocrm import amocrm_source

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--base-url", required=True, help="https://<subdomain>.amocrm.ru or an emulator")
ap.add_argument("--access-token", required=True, help="a long-lived token or an OAuth access token")
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
args = ap.parse_args()
pipeline = dlt.pipeline("amocrm", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_amocrm")
print(pipeline.run(amocrm_source(base_url=args.base_url, access_token=args.access_token)))
