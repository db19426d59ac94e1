"""Load Sendsay into a DuckDB file without Dagster: python -m connectors.sendsay --help

The API key comes from SENDSAY_API_KEY or a file (--api-key-file), never from an argument.
"""

import sys

from connectors.common import cli
from connectors.sendsay import sendsay_source

ap = cli.parser("python -m connectors.sendsay", __doc__)
cli.add_settings(ap, "sendsay")
sys.exit(cli.run(cli.parse(ap), sendsay_source))
