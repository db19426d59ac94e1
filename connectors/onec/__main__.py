"""Load 1C into a DuckDB file without Dagster:
  ONEC_API_KEY=… python -m connectors.onec odata --base-url http://127.0.0.1:8307 [--user odata]
  python -m connectors.onec commerceml --exchange-dir data/demo/onec/exchange

The OData user's password comes from ONEC_API_KEY or a file (--api-key-file), never from an argument.
"""

import sys

from connectors.common import cli
from connectors.onec import commerceml_source, onec_source

ap = cli.parser("python -m connectors.onec", __doc__, duckdb=False)
sub = ap.add_subparsers(dest="form", required=True)
odata = sub.add_parser("odata", help="the standard OData interface (dlt source `onec`)", allow_abbrev=False,
                       description="The OData user's password comes from ONEC_API_KEY or --api-key-file.")
cli.add_duckdb(odata)
cli.add_settings(odata, "onec")
cml = sub.add_parser("commerceml", help="a folder of CommerceML exchange files (dlt source `commerceml`)",
                     allow_abbrev=False)
cli.add_duckdb(cml)
cli.add_settings(cml, "commerceml")
args = cli.parse(ap)
sys.exit(cli.run(args, onec_source if args.form == "odata" else commerceml_source))
