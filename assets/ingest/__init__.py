"""One dlt multi-asset per outside system (`assets/ingest/<system>.py`); each dlt resource is one
`raw/<system>/<table>` asset.

Sources are built twice: once at import with placeholder settings so Dagster can see the tables
(no network is touched: dlt resources are lazy), and again at run time from the resources, which
carry the real URLs and keys.
"""

from assets.ingest.retailcrm import retailcrm_ingest
from assets.ingest.spreadsheets import spreadsheets_ingest
from assets.ingest.unisender import unisender_ingest

ingest_assets = [retailcrm_ingest, spreadsheets_ingest, unisender_ingest]
