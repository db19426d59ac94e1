"""Load RetailCRM into a DuckDB file without Dagster: python -m connectors.retailcrm --help

The API key comes from RETAILCRM_API_KEY or a file (--api-key-file), never from an argument.
"""

import sys

from connectors.common import cli
from connectors.retailcrm import retailcrm_source

ap = cli.parser("python -m connectors.retailcrm", __doc__)
cli.add_settings(ap, "retailcrm")
sys.exit(cli.run(cli.parse(ap), retailcrm_source))
