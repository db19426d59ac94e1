"""Load 1C into a DuckDB file without Dagster:
  python -m connectors.onec odata --base-url http://127.0.0.1:8307 --password demo-key [--user odata]
  python -m connectors.onec commerceml --exchange-dir data/demo/onec/exchange
"""

import argparse

import dlt

from connectors.onec import commerceml_source, onec_source
from connectors.onec.settings import DEFAULT_USER

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--duckdb", default="data/warehouse.duckdb")
sub = ap.add_subparsers(dest="form", required=True)
odata = sub.add_parser("odata", help="the standard OData interface (dlt source `onec`)")
odata.add_argument("--base-url", required=True, help="the publication, e.g. https://host/trade")
odata.add_argument("--user", default=DEFAULT_USER)
odata.add_argument("--password", required=True)
cml = sub.add_parser("commerceml", help="a folder of CommerceML exchange files (dlt source `commerceml`)")
cml.add_argument("--exchange-dir", required=True)
args = ap.parse_args()

if args.form == "odata":
    name, source = "onec", onec_source(base_url=args.base_url, user=args.user, password=args.password)
else:
    name, source = "commerceml", commerceml_source(exchange_dir=args.exchange_dir)
pipeline = dlt.pipeline(name, destination=dlt.destinations.duckdb(args.duckdb), dataset_name=f"raw_{name}")
print(pipeline.run(source))
