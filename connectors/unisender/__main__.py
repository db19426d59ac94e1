"""Load Unisender into a DuckDB file without Dagster: python -m connectors.unisender --help

The API key comes from UNISENDER_API_KEY or a file (--api-key-file), never from an argument.
"""

import sys

from connectors.common import cli
from connectors.unisender import unisender_source

ap = cli.parser("python -m connectors.unisender", __doc__)
cli.add_settings(ap, "unisender")
sys.exit(cli.run(cli.parse(ap), unisender_source))
