"""CRM over its REST API (HubSpot-style): pulls pages into landing/crm/ before the CRM loads.

Off unless CDW_CRM_API_URL is set (the demo uses the file drop); the token comes from
CDW_CRM_API_TOKEN, never from code or config files. Both are read when the step runs, not when
the definitions are loaded: a long-lived process (the daemon, the UI, a test session) sees the
settings of the run, and one loaded while they were set does not fail runs after they are gone.
"""

import os

import dagster as dg

from orchestration import settings
from orchestration.crm_client import TOKEN_ENV, URL_ENV
from orchestration.extract.hubspot_api import HubSpotClient, pull_all

API_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL)


class CrmApiResource(dg.ConfigurableResource):
    """base_url / token: empty reads CDW_CRM_API_URL / CDW_CRM_API_TOKEN when the step runs."""
    base_url: str = ""
    token: str = ""
    page_size: int = 100

    def url(self) -> str:
        return self.base_url or os.environ.get(URL_ENV, "")

    def api_token(self) -> str:
        return self.token or os.environ.get(TOKEN_ENV, "")


@dg.asset(
    key=["extract", "crm_api_pull"],
    group_name="extract",
    description="Pulls CRM contacts, companies and deals from the CRM's v3 API (cursor pagination, "
    "lastmodifieddate incremental watermark, 429/5xx retries) into landing/crm/ as one file per "
    "page; the raw CRM loads then pick them up. Does nothing when CDW_CRM_API_URL is not set.",
    kinds={"api"},
    retry_policy=API_RETRY,
)
def crm_api_pull(context: dg.AssetExecutionContext, crm_api: CrmApiResource) -> dg.MaterializeResult:
    if not crm_api.url():
        return dg.MaterializeResult(metadata={"mode": "file drop (CDW_CRM_API_URL not set)"})
    client = HubSpotClient(crm_api.url(), crm_api.api_token(), page_size=crm_api.page_size)
    results = pull_all(client, settings.landing_dir(), settings.cdw_home() / "state" / "crm_api.json")
    meta = {f"{r.object}_records": r.records for r in results}
    meta.update({f"{r.object}_mode": r.mode for r in results})
    meta.update({"requests": client.requests, "retries": client.retries})
    return dg.MaterializeResult(metadata=meta)
