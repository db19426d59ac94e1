"""Unisender API constants (../shared/specs/destinations.md §1)."""

IMPORT_BATCH = 500  # importContacts rows per call, documented maximum
# Errors that mean "not now" rather than "never": retried with backoff.
RETRYABLE_CODES = {"retry_later", "api_call_limit_exceeded_for_api_key", "api_call_limit_exceeded_for_ip"}
EXPORT_FIELDS = ["email", "email_status", "email_availability", "email_add_time", "email_list_ids",
                 "email_unsubscribed_list_ids", "email_excluded_list_ids"]

# --- campaign statistics (../shared/specs/destinations.md §1 "Stats"; unisender.com getCampaigns,
# getCampaignDeliveryStats, getVisitedLinks pages) ---
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # every Unisender time is this text, in UTC
CAMPAIGNS_PAGE = 100  # getCampaigns `limit` is 1..100
# A campaign's status moves on after it starts (in_progress -> analysed -> completed): each run
# re-reads the campaigns that started in the last 30 days.
CAMPAIGN_LOOKBACK_SECONDS = 30 * 86400
# changed_since is inclusive; one hour of overlap covers statuses that changed while the previous
# run was reading other campaigns. Merge on (campaign_id, email) makes the overlap harmless.
DELIVERY_OVERLAP_SECONDS = 3600
# getVisitedLinks has no change filter: a campaign's links are read until it has been seen final.
FINAL_CAMPAIGN_STATUSES = {"completed", "stopped", "canceled", "declined"}
# Columns that feed engagement and consent; if Unisender stops sending one, the run stops.
DELIVERY_FIELDS = ("email", "send_result", "last_update")
LINK_FIELDS = ("email", "url", "request_time")
