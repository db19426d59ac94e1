"""One dlt multi-asset per outside system (`assets/ingest/<system>.py`); each dlt resource is one
`raw/<system>/<table>` asset.

Sources are built twice: once at import with placeholder settings so Dagster can see the tables
(no network is touched: dlt resources are lazy), and again at run time from the resources, which
carry the real URLs and keys.
"""

from assets.ingest.retailcrm import retailcrm_ingest
from assets.ingest.spreadsheets import spreadsheets_ingest
from assets.ingest.unisender import unisender_ingest
from assets.ingest.bitrix24 import bitrix24_ingest
from assets.ingest.amocrm import amocrm_ingest
from assets.ingest.sendsay import sendsay_ingest
from assets.ingest.onec import commerceml_ingest, onec_ingest

ingest_assets = [retailcrm_ingest, spreadsheets_ingest, unisender_ingest]
ingest_assets.append(bitrix24_ingest)
ingest_assets.append(amocrm_ingest)
ingest_assets.append(sendsay_ingest)
ingest_assets.extend([onec_ingest, commerceml_ingest])
