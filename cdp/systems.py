"""Every source system we know, declared once.

This is the only place a system is named. From it are derived: the Dagster ingest asset of each
enabled system (assets/ingest), the environment variables that reach it (.env.example lists them),
the emulator the demo starts for it, and the dbt variable `cdp_systems` that tells the models which
systems are enabled, which cross-system shapes each one's staging offers (`stg_<system>__<shape>`)
and its survivorship rank. The dbt side of a system is its folder `models/staging/<system>/`.

Nothing here imports a connector: `source` is a dotted path resolved when an asset runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHAPES = ("person_records", "identifiers", "consent_events", "orders", "order_items", "campaigns",
          "message_events", "carts")


@dataclass(frozen=True)
class Setting:
    """One argument of the system's dlt source, read from an environment variable at run time."""

    env: str
    secret: bool = False
    default: str | None = None
    help: str = ""


@dataclass(frozen=True)
class System:
    name: str
    title: str
    # Survivorship: which system's name, birth date and contacts win when records disagree
    # (1 = most trusted). A business configuration may override it.
    rank: int
    shapes: tuple[str, ...]
    source: str  # "module:function" of the dlt source
    settings: dict[str, Setting] = field(default_factory=dict)
    # Arguments that build the source at import with nothing reachable, so Dagster sees its tables.
    placeholder: dict[str, str] = field(default_factory=dict)
    description: str = ""
    emulated: bool = True  # the demo starts `python -m emulators.<name>` for it
    # Mapping entries of this system's files are source systems of their own (spreadsheets).
    per_mapping_entry: bool = False

    @property
    def env_prefix(self) -> str:
        return self.name.upper()


def _api(prefix: str, url_help: str, key_help: str, key_arg: str = "api_key") -> dict[str, Setting]:
    return {
        "base_url": Setting(f"{prefix}_BASE_URL", help=url_help),
        key_arg: Setting(f"{prefix}_API_KEY", secret=True, help=key_help),
    }


PLACEHOLDER_URL = "http://configured-at-run-time.invalid"

SYSTEMS: dict[str, System] = {s.name: s for s in (
    System(
        "retailcrm", "RetailCRM", rank=1,
        shapes=("person_records", "identifiers", "consent_events", "orders", "order_items", "carts"),
        source="connectors.retailcrm:retailcrm_source",
        settings=_api("RETAILCRM", "https://youraccount.retailcrm.ru", "an API key with read access"),
        placeholder={"base_url": PLACEHOLDER_URL, "api_key": "unset"},
        description="RetailCRM customers, orders, corporate customers (merged on id, kept current through the "
                    "history journals after the first full load), the journals themselves, and recent carts.",
    ),
    System(
        "onec", "1C (OData)", rank=2,
        shapes=("person_records", "identifiers", "orders", "order_items"),
        source="connectors.onec:onec_source",
        settings={
            **_api("ONEC", "the infobase publication, https://host/trade (/odata/standard.odata is added)",
                   "the password of the OData user", key_arg="password"),
            "user": Setting("ONEC_USER", default="odata", help="the OData infobase user"),
        },
        placeholder={"base_url": PLACEHOLDER_URL, "password": "unset"},
        description="1C counterparties and products (changed DataVersion only), sales documents by Date with a "
                    "look-back window, and their lines; merged on Ref_Key, deletion marks kept.",
    ),
    System(
        "commerceml", "1C CommerceML exchange files", rank=2,
        shapes=("person_records", "identifiers"),
        source="connectors.onec:commerceml_source",
        settings={"exchange_dir": Setting("COMMERCEML_EXCHANGE_DIR", default="data/onec/exchange",
                                          help="the folder 1C or the site writes CommerceML files to")},
        placeholder={"exchange_dir": "."},
        description="CommerceML exchange files (catalogue, offers, order documents), each read once per content hash.",
        emulated=False,
    ),
    System(
        "amocrm", "amoCRM / Kommo", rank=3,
        shapes=("person_records", "identifiers", "orders"),
        source="connectors.amocrm:amocrm_source",
        settings=_api("AMOCRM", "https://yoursubdomain.amocrm.ru", "a long-lived access token (Bearer)",
                      key_arg="access_token"),
        placeholder={"base_url": PLACEHOLDER_URL, "access_token": "unset"},
        description="amoCRM contacts and leads, merged on id; later runs read only what changed (updated_at).",
    ),
    System(
        "bitrix24", "Bitrix24", rank=3,
        shapes=("person_records", "identifiers", "orders"),
        source="connectors.bitrix24:bitrix24_source",
        settings=_api("BITRIX24", "https://yourportal.bitrix24.ru/rest/1 (the webhook's portal and user)",
                      "the incoming webhook's secret code"),
        placeholder={"base_url": PLACEHOLDER_URL, "api_key": "unset"},
        description="Bitrix24 contacts and deals changed since the last run (DATE_MODIFY cursor), merged on ID.",
    ),
    System(
        "spreadsheets", "Spreadsheet inbox (CSV/XLSX/XLS exports)", rank=4,
        shapes=("person_records", "identifiers", "consent_events", "orders"),
        source="connectors.spreadsheets:spreadsheets_source",
        settings={"inbox": Setting("SPREADSHEET_INBOX", default="data/inbox",
                                   help="a folder, or s3://bucket/prefix/ (read with the S3_* settings)")},
        placeholder={"inbox": "."},
        description="Inbox files (folder or S3 prefix) mapped by the business's mapping, each read once per "
                    "content hash; a changed file replaces its rows; unreadable files and rows quarantined.",
        emulated=False,
        per_mapping_entry=True,
    ),
    System(
        "unisender", "Unisender", rank=5,
        shapes=("person_records", "identifiers", "consent_events", "campaigns", "message_events"),
        source="connectors.unisender:unisender_source",
        settings=_api("UNISENDER", "https://api.unisender.com", "the account's API key"),
        placeholder={"base_url": PLACEHOLDER_URL, "api_key": "unset"},
        description="Unisender contacts with their subscription status (unsubscribes feed consent), campaigns, "
                    "per-address delivery results and visited links (engagement).",
    ),
    System(
        "sendsay", "Sendsay", rank=5,
        shapes=("person_records", "identifiers", "consent_events", "campaigns", "message_events"),
        source="connectors.sendsay:sendsay_source",
        settings={
            **_api("SENDSAY", "https://api.sendsay.ru", "a sub-user's API key"),
            "login": Setting("SENDSAY_LOGIN", default="linzy-shop", help="the account login"),
        },
        placeholder={"base_url": PLACEHOLDER_URL, "login": "unset", "api_key": "unset"},
        description="Sendsay members with their list memberships and stop-list state, issues, and per-member "
                    "issue statistics (unsubscribes feed consent; opens and clicks feed engagement).",
    ),
)}


def system(name: str) -> System:
    try:
        return SYSTEMS[name]
    except KeyError:
        raise KeyError(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}") from None
