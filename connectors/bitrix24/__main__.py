"""Load Bitrix24 into a DuckDB file without Dagster: python -m connectors.bitrix24 --help

The webhook code comes from BITRIX24_API_KEY or a file (--api-key-file), never from an argument.
The whole incoming-webhook URL (it carries the code) is accepted only from BITRIX24_BASE_URL.
"""

import sys

from connectors.bitrix24 import bitrix24_source
from connectors.bitrix24.helpers import carries_webhook_code
from connectors.common import cli

ap = cli.parser("python -m connectors.bitrix24", __doc__)
cli.add_settings(ap, "bitrix24")
ap.add_argument("--user-id", type=int, default=1, help="the webhook's user, when the base URL does not name it")
argv = sys.argv[1:]
cli.refuse_secret_options(ap, argv)
args = ap.parse_args(argv)
if carries_webhook_code(args.base_url) and any(t.split("=", 1)[0] == "--base-url" for t in argv):
    ap.error("--base-url holds the webhook code, which would be visible in ps: give the portal "
             "(https://yourportal.bitrix24.ru/rest/1) with the code in BITRIX24_API_KEY or --api-key-file, "
             "or put the whole webhook URL in BITRIX24_BASE_URL")
if carries_webhook_code(args.base_url) and not args.secret_file:
    code = ""  # the URL from BITRIX24_BASE_URL carries it
else:
    try:
        code = cli.read_secret("bitrix24", args.secret_file)
    except cli.SecretMissing as exc:
        ap.error(str(exc))
args.source_kwargs = {"base_url": args.base_url, "api_key": code}
sys.exit(cli.run(args, bitrix24_source, {"user_id": args.user_id}))
