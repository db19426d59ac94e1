"""Every destination a segment can be synced to, declared once.

A destination is an outside system that receives audiences: a mailing tool's list, an ad
cabinet's audience, files in S3. From this declaration are derived: the Dagster resource that
carries its settings (orchestration/resources.py), `.env.example`, the emulator the demo starts
for it, and which identifiers an audience for it may carry. Its client is
`connectors/<system>/destination.py` (the interface is connectors/common/destination.py); a
segment names its destinations in its dbt `meta.audience`.

Nothing here imports a client: `client` is a dotted path resolved when a sync runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cdp.systems import Setting

Mode = Literal["mirror", "add_only", "upsert"]

# How an address is made into what a platform keys members by (connectors/common/hashing.py
# implements them; Yandex's and VK's normalisation rules are in ../shared/specs/destinations.md §7).
IDENTIFIER_FORMS = ("email", "phone", "email_sha256", "phone_sha256", "email_md5", "phone_md5")


@dataclass(frozen=True)
class DestinationSystem:
    name: str
    title: str
    client: str  # "module:Class" implementing connectors.common.destination.DestinationClient
    # Consent channel per address type: which consent an address needs to be sent here.
    channels: dict[str, str]
    # Identifier forms the platform takes, the first one per address type being the default.
    identifier_forms: tuple[str, ...]
    settings: dict[str, Setting] = field(default_factory=dict)
    min_audience: int = 0
    default_mode: Mode = "mirror"
    emulated: bool = True  # the demo starts `python -m emulators.<name>`
    description: str = ""

    @property
    def env_prefix(self) -> str:
        return self.name.upper()


def _api(prefix: str, url_help: str, key_help: str, key_env: str = "API_KEY") -> dict[str, Setting]:
    return {
        "base_url": Setting(f"{prefix}_BASE_URL", help=url_help),
        "api_key": Setting(f"{prefix}_{key_env}", secret=True, help=key_help),
    }


DESTINATIONS: dict[str, DestinationSystem] = {d.name: d for d in (
    DestinationSystem(
        "unisender", "Unisender", client="connectors.unisender.destination:UnisenderDestination",
        channels={"email": "email", "phone": "sms"}, identifier_forms=("email", "phone"),
        settings=_api("UNISENDER", "https://api.unisender.com", "the account's API key"),
        description="Contacts lists: importContacts in batches of 500, exclude for segment exits.",
    ),
    DestinationSystem(
        "sendsay", "Sendsay", client="connectors.sendsay.destination:SendsayDestination",
        channels={"email": "email", "phone": "sms"}, identifier_forms=("email", "phone"),
        settings={**_api("SENDSAY", "https://api.sendsay.ru", "a sub-user's API key"),
                  "login": Setting("SENDSAY_LOGIN", default="linzy-shop", help="the account login")},
        description="A list group per audience: member.import into the group (async, track.get), removal "
                    "from the group for exits.",
    ),
    DestinationSystem(
        "mindbox", "Mindbox", client="connectors.mindbox.destination:MindboxDestination",
        channels={"email": "email", "phone": "sms"}, identifier_forms=("email", "phone"),
        settings={
            "base_url": Setting("MINDBOX_BASE_URL", help="https://api.mindbox.ru"),
            "api_key": Setting("MINDBOX_SECRET_KEY", secret=True, help="the endpoint's secret key"),
            "endpoint_id": Setting("MINDBOX_ENDPOINT_ID", default="cdp-lite", help="the integration endpoint id"),
            # Operation names are the project's (connectors/mindbox/README.md); defaults as settings.py.
            "operation_import": Setting("MINDBOX_OPERATION_IMPORT", default="CdpLite.ImportCustomer",
                                        help="the operation that creates or edits a customer with subscriptions"),
            "operation_segment": Setting("MINDBOX_OPERATION_SEGMENT", default="CdpLite.ChangeCustomerSegment",
                                         help="the operation that puts a customer into or out of a static segmentation"),
            "operation_export": Setting("MINDBOX_OPERATION_EXPORT", default="CdpLite.ExportSegmentCustomers",
                                        help="the operation that exports a segmentation's customers; empty = no read-back"),
        },
        description="Customers imported through the project's operations, with a subscription per point of "
                    "contact and a segment tag; transactionId makes every call idempotent.",
    ),
    DestinationSystem(
        "yandex_audience", "Яндекс Аудитории", client="connectors.yandex_audience.destination:YandexAudienceDestination",
        channels={"email": "ads", "phone": "ads"}, identifier_forms=("email_sha256", "phone_sha256"),
        settings={"base_url": Setting("YANDEX_AUDIENCE_BASE_URL", help="https://api-audience.yandex.ru"),
                  "api_key": Setting("YANDEX_AUDIENCE_TOKEN", secret=True, help="an OAuth token with audience access")},
        min_audience=100,
        description="CRM segments uploaded as SHA-256 hashes (upload_csv_file, confirm), changed with modify_data.",
    ),
    DestinationSystem(
        "vk_ads", "VK Реклама", client="connectors.vk_ads.destination:VkAdsDestination",
        channels={"email": "ads", "phone": "ads"}, identifier_forms=("phone_md5", "email_md5"),
        settings={"base_url": Setting("VK_ADS_BASE_URL", help="https://ads.vk.com"),
                  "client_id": Setting("VK_ADS_CLIENT_ID", help="the API application's client_id"),
                  "api_key": Setting("VK_ADS_CLIENT_SECRET", secret=True, help="the API application's client_secret")},
        min_audience=2000,
        description="Remarketing users lists (phones or e-mails, MD5), changed with base=±id diff files.",
    ),
    DestinationSystem(
        "s3_file", "Файлы в S3", client="connectors.common.s3_destination:S3FileDestination",
        channels={"email": "email", "phone": "sms"},
        identifier_forms=("email", "phone", "email_sha256", "phone_sha256", "email_md5", "phone_md5"),
        settings={},  # the S3_* settings of the s3 resource
        emulated=False,
        description="The full audience as CSV plus the change since the last file and a manifest per run.",
    ),
)}


def destination(name: str) -> DestinationSystem:
    try:
        return DESTINATIONS[name]
    except KeyError:
        raise KeyError(f"unknown destination {name!r}; known: {', '.join(DESTINATIONS)}") from None
