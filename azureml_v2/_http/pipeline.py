"""The azure-core pipeline every operation group sends through, for Azure and for a local workspace.

One policy list for both backends; they differ only in authentication and transport:
Azure takes a bearer token from any azure-identity credential, a served local workspace a static token,
the in-process workspace none.
"""
from __future__ import annotations

import inspect
import json
import logging
import platform

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ResourceExistsError,
                                   ResourceNotFoundError, ResponseNotReadError)
from azure.core.pipeline import policies
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import (ARMAutoResourceProviderRegistrationPolicy, ARMChallengeAuthenticationPolicy,
                                      ARMHttpLoggingPolicy)

from .. import __version__

USER_AGENT = f"azureml_v2/{__version__}"

_ERRORS = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
# Operations whose response body is nothing but secrets; never logged, even redacted.
_SECRET_OPERATIONS = ("/listsecrets", "/listkeys")
# JSON members whose values are credentials wherever they appear (datastore PUT bodies carry them).
_SECRET_MEMBERS = frozenset(m.lower() for m in (
    "secrets", "key", "accountKey", "sasToken", "password", "clientSecret", "certificate", "token",
    "accessToken", "primaryKey", "secondaryKey", "connectionString", "userKeys"))


def _redact(value):
    if isinstance(value, dict):
        return {k: HttpLoggingPolicy.REDACTED_PLACEHOLDER if k.lower() in _SECRET_MEMBERS else _redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _body_text(body) -> str | None:
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return None
    try:
        return json.dumps(_redact(json.loads(body)))
    except ValueError:
        return f"<{len(body)} characters, not JSON: not logged>"


class HttpLoggingPolicy(ARMHttpLoggingPolicy):
    """ARM's HTTP logging (allow-listed headers and query parameters, everything else REDACTED),
    plus JSON bodies at DEBUG when `logging_enable=True`, with credentials redacted.

    It replaces azure-core's NetworkTraceLoggingPolicy, which would log the Authorization header and
    listSecrets bodies verbatim.
    """

    def __init__(self, logging_enable: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.logging_enable = logging_enable

    def _trace(self, request) -> bool:
        context = request.context
        if "trace_bodies" not in context:
            context["trace_bodies"] = context.options.pop("logging_enable", self.logging_enable)
        logger = context.get("logger") or self.logger
        return bool(context["trace_bodies"]) and logger.isEnabledFor(logging.DEBUG)

    def on_request(self, request) -> None:
        super().on_request(request)
        if self._trace(request):
            text = _body_text(request.http_request.content)
            if text:
                (request.context.get("logger") or self.logger).debug("Request body: %s", text)

    def on_response(self, request, response) -> None:
        super().on_response(request, response)
        if not self._trace(request) or request.context.options.get("stream"):
            return
        logger = request.context.get("logger") or self.logger
        path = request.http_request.url.split("?", 1)[0].lower()
        if path.endswith(_SECRET_OPERATIONS):
            logger.debug("Response body: <secrets: not logged>")
            return
        try:
            text = _body_text(response.http_response.text())
        except ResponseNotReadError:  # streamed: the caller reads it later
            return
        if text:
            logger.debug("Response body: %s", text)


def build_client(base_url: str, *, credential=None, token: str | None = None, transport=None,
                 **kwargs) -> ARMPipelineClient:
    """An ARM pipeline client for `base_url`.

    credential: an azure-identity TokenCredential (Azure); token: a static bearer token (a served local
    workspace); neither: no authentication (the in-process workspace). Other keywords configure the
    policies as in every azure-core client: retry_total, retry_backoff_factor, logging_enable, user_agent, ...
    """
    auth = None if credential is None else ARMChallengeAuthenticationPolicy(credential, _scope(base_url), **kwargs)
    policies_ = _policies(auth, token, ARMAutoResourceProviderRegistrationPolicy(), policies.RedirectPolicy(**kwargs),
                          policies.RetryPolicy(**kwargs), kwargs)
    return ARMPipelineClient(base_url, policies=policies_, transport=transport, **kwargs)


def build_async_client(base_url: str, *, credential=None, token: str | None = None, transport=None, **kwargs):
    """The same pipeline on azure-core's async stack (AsyncARMPipelineClient), for `azureml_v2.aio`.

    credential may be an async azure-identity credential (azure.identity.aio) or a synchronous one, whose
    get_token then runs in a worker thread."""
    from azure.mgmt.core import AsyncARMPipelineClient  # import budget: only the async client needs it
    from azure.mgmt.core.policies import (AsyncARMAutoResourceProviderRegistrationPolicy,
                                          AsyncARMChallengeAuthenticationPolicy)

    auth = None
    if credential is not None:
        auth = AsyncARMChallengeAuthenticationPolicy(_async_credential(credential), _scope(base_url), **kwargs)
    policies_ = _policies(auth, token, AsyncARMAutoResourceProviderRegistrationPolicy(),
                          policies.AsyncRedirectPolicy(**kwargs), policies.AsyncRetryPolicy(**kwargs), kwargs)
    return AsyncARMPipelineClient(base_url, policies=policies_, transport=transport, **kwargs)


def _scope(base_url: str) -> str:
    # the token is for the cloud's Resource Manager: https://management.azure.com/.default in the public cloud
    return f"{base_url.rstrip('/')}/.default"


def _policies(auth, token, registration, redirect, retry, kwargs) -> list:
    """The policy list of both pipelines; only authentication, registration, redirects and retries differ
    between the sync and the async stack (the rest are sans-I/O)."""
    if auth is None and token is not None:
        auth = policies.AzureKeyCredentialPolicy(AzureKeyCredential(token), "Authorization", prefix="Bearer")
    user_agent = f"{USER_AGENT} Python/{platform.python_version()} ({platform.platform()})"
    pipeline = [
        policies.RequestIdPolicy(**kwargs),
        policies.HeadersPolicy(**kwargs),
        policies.UserAgentPolicy(user_agent, **kwargs),
        policies.ProxyPolicy(**kwargs),
        policies.ContentDecodePolicy(**kwargs),
        registration,
        redirect,
        retry,  # honours Retry-After on 429/503
        auth,
        policies.CustomHookPolicy(**kwargs),
        policies.DistributedTracingPolicy(**kwargs),
        policies.SensitiveHeaderCleanupPolicy(**kwargs),
        HttpLoggingPolicy(**kwargs),
    ]
    return [p for p in pipeline if p is not None]


class _ThreadedCredential:
    """An async credential over a synchronous one: each get_token runs in a worker thread."""

    def __init__(self, credential) -> None:
        self.credential = credential

    async def get_token(self, *scopes, **kwargs):
        import asyncio  # import budget: only the async client gets here

        return await asyncio.to_thread(self.credential.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        pass


def _async_credential(credential):
    return credential if inspect.iscoroutinefunction(credential.get_token) else _ThreadedCredential(credential)


def http_error(response) -> HttpResponseError:
    """The azure.core exception for an unexpected status, carrying the service's ARM error code and message."""
    return _ERRORS.get(response.status_code, HttpResponseError)(response=response, error_format=ARMErrorFormat)
