"""Load a spreadsheet inbox into a DuckDB file without Dagster: python -m connectors.spreadsheets --help

Credentials for an S3 inbox are taken from the command line, or else dlt's usual config
(`SOURCES__SPREADSHEETS__S3_ACCESS_KEY_ID`, `.dlt/secrets.toml`), never read here directly.
"""

import argparse

import dlt

from connectors.spreadsheets import spreadsheets_source

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--inbox", required=True, help="a folder, or s3://bucket/prefix/")
ap.add_argument("--mapping", default=None, help="YAML mapping (default: connectors/spreadsheets/default_mapping.yml)")
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
ap.add_argument("--s3-endpoint-url", default=None)
ap.add_argument("--s3-region", default=None)
args = ap.parse_args()
pipeline = dlt.pipeline("spreadsheets", destination=dlt.destinations.duckdb(args.duckdb), dataset_name="raw_spreadsheets")
source = spreadsheets_source(inbox=args.inbox, mapping_path=args.mapping, s3_endpoint_url=args.s3_endpoint_url,
                             s3_region=args.s3_region)
print(pipeline.run(source))
