"""What every operation group shares: resource URLs under the workspace, sending through the client's
pipeline, ARM errors as azure.core exceptions, nextLink paging and ARM long-running polling."""
from __future__ import annotations

from enum import Enum
from urllib.parse import quote, urljoin

from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest

from .._contract import API_VERSION, PROVIDER
from .._http.pipeline import http_error
from ..exceptions import ValidationError


class ListViewType(str, Enum):
    """Which assets a list shows: archived ones are hidden by default."""

    ACTIVE_ONLY = "ActiveOnly"
    ARCHIVED_ONLY = "ArchivedOnly"
    ALL = "All"


class Operations:
    """Base of the operation groups: knows the client (scope, pipeline), never which backend answers."""

    def __init__(self, ml_client) -> None:
        self._ml_client = ml_client

    @property
    def _backend(self):
        """What differs between workspaces (logs, child jobs, metrics, ...), asked, never tested."""
        return self._ml_client._backend

    def _url(self, *segments) -> str:
        path = "".join("/" + quote(str(s), safe="") for s in segments)
        return f"{self._ml_client.endpoint}{self._ml_client._scope}{path}"

    def _arm_id(self, *segments) -> str:
        return self._ml_client._scope + "".join(f"/{s}" for s in segments)

    def _request(self, method: str, *segments, params=None, json=None, headers=None,
                 api_version: str = API_VERSION) -> HttpRequest:
        return HttpRequest(method, self._url(*segments), params={"api-version": api_version, **(params or {})},
                           json=json, headers=headers)

    def _send(self, method: str, *segments, params=None, json=None, headers=None, ok=(200,),
              api_version: str = API_VERSION):
        """Send one request; a status outside `ok` raises."""
        response = self._ml_client._pipeline.send_request(self._request(method, *segments, params=params, json=json,
                                                                        headers=headers, api_version=api_version))
        if response.status_code not in ok:
            raise http_error(response)
        return response

    def _get(self, *segments, params=None) -> dict:
        return self._send("GET", *segments, params=params).json()

    def _put(self, body: dict, *segments, params=None, api_version: str = API_VERSION) -> dict:
        return self._send("PUT", *segments, params=params, json=body, ok=(200, 201), api_version=api_version).json()

    def _delete(self, *segments) -> None:
        self._send("DELETE", *segments, ok=(200, 204))

    def _paged(self, from_rest, *segments, params=None, keep=None) -> ItemPaged:
        """The list at `segments`, page by page, following each page's nextLink; `keep` filters items."""
        pipeline = self._ml_client._pipeline

        def get_next(next_link=None):
            if next_link is None:
                request = self._request("GET", *segments, params={k: v for k, v in (params or {}).items()
                                                                  if v is not None})
            else:
                request = HttpRequest("GET", self._next_url(next_link))
            response = pipeline.send_request(request)
            if response.status_code != 200:
                raise http_error(response)
            return response

        def extract_data(response):
            body = response.json()
            items = body.get("value", [])
            return body.get("nextLink") or None, iter([from_rest(i) for i in items if keep is None or keep(i)])

        return ItemPaged(get_next, extract_data)

    def _next_url(self, link: str) -> str:
        # ARM nextLinks are absolute and carry api-version; tolerate relative ones and ones without it
        url = urljoin(self._ml_client.endpoint + "/", link)
        if "api-version=" not in url:
            url += ("&" if "?" in url else "?") + f"api-version={API_VERSION}"
        return url

    def _begin(self, method: str, *segments, params=None, json=None, headers=None, ok=(200, 201, 202, 204),
               from_rest=None) -> LROPoller:
        """Start a long-running operation; the poller follows Azure-AsyncOperation/Location as ARM does."""
        pipeline = self._ml_client._pipeline
        initial = pipeline.send_request(self._request(method, *segments, params=params, json=json, headers=headers),
                                        _return_pipeline_response=True)
        if initial.http_response.status_code not in ok:
            raise http_error(initial.http_response)

        def deserialize(pipeline_response):
            if from_rest is None:
                return None
            return from_rest(pipeline_response.http_response.json())

        return self._backend.poller(initial, deserialize, self._ml_client.polling_interval)


class ResourceGroupOperations(Operations):
    """The tracked resources of one collection of the client's resource group (workspaces, registries)."""

    _COLLECTION = ""
    _ENTITY = None  # the entity class, read from REST with its _from_rest
    _OWN = ""  # the client's attribute that names its own resource of the collection

    def _url(self, *segments) -> str:
        path = "".join("/" + quote(str(s), safe="") for s in segments)
        return (f"{self._ml_client.endpoint}/subscriptions/{self._ml_client.subscription_id}/resourceGroups/"
                f"{self._ml_client.resource_group_name}/providers/{PROVIDER}/{self._COLLECTION}{path}")

    def get(self, name: str | None = None):
        """One resource (by default the client's own)."""
        name = name or getattr(self._ml_client, self._OWN)
        if not name:
            raise ValidationError(f"{self._COLLECTION}.get needs a name")
        return self._ENTITY._from_rest(self._get(name))

    def list(self) -> ItemPaged:
        """The resources of the collection in the resource group (locally: in the home)."""
        return self._paged(self._ENTITY._from_rest)

    def begin_delete(self, name: str) -> LROPoller:
        """Delete a resource with everything in it."""
        return self._begin("DELETE", name, ok=(200, 202, 204))
