"""Load amoCRM into a DuckDB file without Dagster: python -m connectors.amocrm --help

The access token comes from AMOCRM_API_KEY or a file (--api-key-file), never from an argument.
"""

import sys

from connectors.amocrm import amocrm_source
from connectors.common import cli

ap = cli.parser("python -m connectors.amocrm", __doc__)
cli.add_settings(ap, "amocrm")
sys.exit(cli.run(cli.parse(ap), amocrm_source))
