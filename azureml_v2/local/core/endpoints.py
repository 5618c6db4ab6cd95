"""Online and batch endpoints and their deployments: checked, stored, provisioned, deleted; endpoint keys and tokens.

A PUT stores the resource in ``Creating`` (``Updating`` when it exists) and returns a long-running operation; a
DELETE marks it ``Deleting``. What happens next is the :class:`Provisioner`'s to decide: it is called once the store
holds the new state, and it (or a process it starts) ends the operation by moving the resource to ``Succeeded`` or
``Failed`` (:meth:`Store.set_provisioning`), or, for a delete, by removing it (:meth:`Store.finish_endpoint_delete`).

Keys and tokens: a ``Key`` endpoint has a primary and a secondary key, generated unless the PUT gives them, kept in
the store and shown only by listKeys. An ``AMLToken`` endpoint's tokens are signed with a secret of the endpoint
(HMAC-SHA256 over the endpoint and the expiry) and expire after an hour. :meth:`Endpoints.authorized` is the one
check of a credential presented to an endpoint.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from . import checks
from .checks import Invalid
from .workspace import Conflict, NotFound, Store

TOKEN_LIFETIME = 3600  # seconds an AML token is valid, as on Azure ML
TOKEN_REFRESH = 1800  # seconds after which a client should ask for a new one


class Provisioner:
    """The hook between storing an endpoint or deployment and serving it: it decides when provisioning ends.

    Called by :class:`Endpoints` after each change is committed. Until deployments are served, provisioning ends as
    soon as the resource is stored: an endpoint or deployment is ``Succeeded`` once stored, and is gone once its
    delete is accepted. Serving replaces this with servers that are started, probed and stopped.
    """

    def __init__(self, store: Store):
        self.store = store

    def endpoint_stored(self, ws: str, kind: str, endpoint: str, action: str) -> None:
        """An endpoint was stored in ``Creating`` (action ``create``) or ``Updating`` (``update``)."""
        self.store.set_provisioning(ws, kind, endpoint, None, "Succeeded")

    def deployment_stored(self, ws: str, kind: str, endpoint: str, deployment: str, action: str) -> None:
        """A deployment was stored in ``Creating`` or ``Updating``: it is ``Succeeded`` (or ``Failed``) when what serves
        it is ready (or cannot be)."""
        self.store.set_provisioning(ws, kind, endpoint, deployment, "Succeeded")

    def deleting(self, ws: str, kind: str, endpoint: str, deployment: str | None) -> None:
        """An endpoint (with all its deployments, `deployment` None) or a deployment was marked ``Deleting``: stop
        what serves it, then remove it."""
        self.store.finish_endpoint_delete(ws, kind, endpoint, deployment)

    def scoring_uri(self, ws: str, kind: str, endpoint: str) -> str | None:
        """Where the endpoint answers (None: it is not served on this machine)."""
        return None

    def swagger_uri(self, ws: str, kind: str, endpoint: str) -> str | None:
        return None

    def logs(self, ws: str, kind: str, endpoint: str, deployment: str, container: str, tail: int | None) -> str:
        """The last `tail` lines (all when None) of a deployment's `container` log (InferenceServer or
        StorageInitializer)."""
        return ""


class Endpoints:
    """What the ARM routes of endpoints and deployments do, over a store and a :class:`Provisioner`."""

    def __init__(self, store: Store, user: str, provisioner: Provisioner | None = None):
        self.store, self.user = store, user
        self.provisioner = provisioner or Provisioner(store)

    # -- endpoints

    def put_endpoint(self, ws: str, kind: str, name: str, body: dict) -> tuple[dict, bool, dict]:
        """Check and store an endpoint's REST body -> (record, created, operation)."""
        checks.check_endpoint_name(kind, name)
        doc = checks.tracked(body)
        props = checks.endpoint_props(kind, doc.get("properties") if isinstance(doc.get("properties"), dict)
                                      else _missing_properties())
        given = {k: v for k, v in (props.pop("keys", None) or {}).items() if v}
        doc["properties"] = props
        try:
            keys = json.loads(self.store.get_endpoint(ws, kind, name)["keys"] or "{}")
        except NotFound:
            keys = {}
        keys.update(given)
        for key in ("primaryKey", "secondaryKey", "tokenSecret"):
            keys.setdefault(key, _new_key())

        def check_traffic(conn, existing, new_doc):
            if kind != "online":
                return
            names = {r["name"].lower() for r in conn.execute(
                "SELECT d.name FROM deployments d JOIN endpoints e ON e.seq = d.endpoint WHERE e.workspace = ? "
                "AND e.kind = ? AND e.name = ?", (ws, kind, name))}
            for key in ("traffic", "mirrorTraffic"):
                unknown = sorted(n for n in new_doc["properties"][key] if n.lower() not in names)
                if unknown:
                    raise Invalid(f"properties.{key}: endpoint {name!r} has no deployment {unknown[0]!r}; create the "
                                  "deployment first, then route traffic to it")

        record, created, op = self.store.put_endpoint(ws, kind, name, doc, self.user, keys=keys, check=check_traffic)
        self.provisioner.endpoint_stored(ws, kind, name, op["action"])
        return self.store.get_endpoint(ws, kind, name), created, self.store.get_operation(ws, op["id"])

    def delete_endpoint(self, ws: str, kind: str, name: str) -> dict:
        """Start deleting an endpoint and its deployments -> the operation (NotFound when it is not there)."""
        op = self.store.request_endpoint_delete(ws, kind, name)
        self.provisioner.deleting(ws, kind, name, None)
        return self.store.get_operation(ws, op["id"])

    # -- deployments

    def put_deployment(self, ws: str, kind: str, endpoint: str, name: str, body: dict) -> tuple[dict, bool, dict]:
        """Check and store a deployment's REST body under an existing endpoint -> (record, created, operation)."""
        doc = checks.tracked(body)
        props = doc.get("properties") if isinstance(doc.get("properties"), dict) else _missing_properties()
        doc["properties"] = (checks.online_deployment_props if kind == "online" else
                             checks.batch_deployment_props)(props)
        record, created, op = self.store.put_deployment(ws, kind, endpoint, name, doc, self.user,
                                                        immutable=checks.DEPLOYMENT_IMMUTABLE)
        self.provisioner.deployment_stored(ws, kind, endpoint, name, op["action"])
        return self.store.get_deployment(ws, kind, endpoint, name), created, self.store.get_operation(ws, op["id"])

    def delete_deployment(self, ws: str, kind: str, endpoint: str, name: str) -> dict:
        """Start deleting a deployment -> the operation. One that still takes live traffic is refused (Conflict)."""
        def check_traffic(conn, row):
            parent = json.loads(conn.execute("SELECT doc FROM endpoints WHERE seq = ?", (row["endpoint"],))
                                .fetchone()["doc"])
            props = parent.get("properties", {})
            share = {k.lower(): v for k, v in props.get("traffic", {}).items()}.get(name.lower())
            default = (props.get("defaults") or {}).get("deploymentName")
            if share:
                raise Conflict(f"deployment {name!r} takes {share}% of endpoint {endpoint!r}'s traffic; route its "
                               "traffic elsewhere (azml online-endpoint update --traffic) before deleting it")
            if default and default.lower() == name.lower():
                raise Conflict(f"deployment {name!r} is the default of batch endpoint {endpoint!r}; make another "
                               "deployment the default before deleting it")

        op = self.store.request_endpoint_delete(ws, kind, endpoint, name, check=check_traffic)
        self.provisioner.deleting(ws, kind, endpoint, name)
        return self.store.get_operation(ws, op["id"])

    def patch(self, ws: str, kind: str, endpoint: str, deployment: str | None, patch: dict) -> dict:
        """Apply a PATCH (tags, identity, sku; a batch deployment's description) as an update -> its operation."""
        allowed = ("tags", "sku", "properties") if deployment else ("tags", "identity")
        unknown = sorted(set(patch) - set(allowed))
        if unknown:
            raise Invalid(f"{unknown[0]}: a PATCH here changes only {', '.join(allowed)}")
        if deployment is None:
            doc = self.store.get_endpoint(ws, kind, endpoint)["doc"]
        else:
            doc = self.store.get_deployment(ws, kind, endpoint, deployment)["doc"]
        sku = doc.get("sku")
        doc = {**doc, **{k: v for k, v in patch.items() if k != "properties"}}
        if isinstance(patch.get("sku"), dict) and isinstance(sku, dict):  # a new capacity keeps the sku's name
            doc["sku"] = {**sku, **patch["sku"]}
        extra = patch.get("properties")
        if extra is not None:
            if kind != "batch" or not isinstance(extra, dict) or set(extra) - {"description"}:
                raise Invalid("properties: a PATCH of a batch deployment changes only properties.description")
            doc["properties"] = {**doc["properties"], **extra}
        if deployment is None:
            return self.put_endpoint(ws, kind, endpoint, doc)[2]
        return self.put_deployment(ws, kind, endpoint, deployment, doc)[2]

    def logs(self, ws: str, kind: str, endpoint: str, name: str, body: dict) -> str:
        self.store.get_deployment(ws, kind, endpoint, name)
        checks.check_enum(body, "containerType", ("StorageInitializer", "InferenceServer"),
                          default="InferenceServer", where="body")
        tail = body.get("tail")
        if tail is not None and (isinstance(tail, bool) or not isinstance(tail, int) or tail < 0):
            raise Invalid("tail: expected a number of lines, an integer >= 0")
        return self.provisioner.logs(ws, kind, endpoint, name, body["containerType"], tail)

    # -- keys and tokens

    def _keys(self, ws: str, kind: str, name: str) -> tuple[dict, dict]:
        record = self.store.get_endpoint(ws, kind, name)
        return record, json.loads(record["keys"] or "{}")

    def list_keys(self, ws: str, kind: str, name: str) -> dict:
        record, keys = self._keys(ws, kind, name)
        if record["doc"]["properties"]["authMode"] != "Key":
            raise Invalid(f"endpoint {name!r} authenticates with {record['doc']['properties']['authMode']}, not "
                          "keys: ask for a token instead")
        return {"primaryKey": keys.get("primaryKey"), "secondaryKey": keys.get("secondaryKey")}

    def regenerate_key(self, ws: str, kind: str, name: str, body: dict) -> dict:
        """Replace the primary or secondary key (with `keyValue` when given) -> the (finished) operation."""
        record, keys = self._keys(ws, kind, name)
        if record["doc"]["properties"]["authMode"] != "Key":
            raise Invalid(f"endpoint {name!r} does not authenticate with keys")
        checks.check_enum(body, "keyType", ("Primary", "Secondary"), required=True, where="body")
        value = checks.check(body, "keyValue", str) or _new_key()
        keys[f"{body['keyType'].lower()}Key"] = value
        return self.store.set_endpoint_keys(ws, kind, name, keys, self.user)

    def token(self, ws: str, kind: str, name: str) -> dict:
        """A new AML token of an AMLToken endpoint (EndpointAuthToken)."""
        record, keys = self._keys(ws, kind, name)
        if record["doc"]["properties"]["authMode"] != "AMLToken":
            raise Invalid(f"endpoint {name!r} authenticates with {record['doc']['properties']['authMode']}; tokens "
                          "are for AMLToken endpoints")
        if not keys.get("tokenSecret"):
            keys["tokenSecret"] = _new_key()
            self.store.set_endpoint_keys(ws, kind, name, keys, self.user)
        issued = int(time.time())
        expiry = issued + TOKEN_LIFETIME
        return {"accessToken": _sign(keys["tokenSecret"], f"{ws}/{kind}/{name.lower()}", expiry),
                "tokenType": "Bearer", "expiryTimeUtc": expiry, "refreshAfterTimeUtc": issued + TOKEN_REFRESH}

    def authorized(self, ws: str, kind: str, name: str, credential: str, *, now: float | None = None) -> bool:
        """Whether `credential` (a key, or an unexpired token of an AMLToken endpoint) may call the endpoint."""
        record, keys = self._keys(ws, kind, name)
        return credential_valid(record, keys, credential, now=now)


def credential_valid(record: dict, keys: dict, credential: str, *, now: float | None = None) -> bool:
    """Whether `credential` opens the endpoint of `record` (a stored endpoint) whose keys are `keys`: one of its
    keys (Key), or an unexpired token signed with its secret (AMLToken). The one check of a credential, for the API
    and for the router that serves the endpoint."""
    mode = record["doc"]["properties"]["authMode"]
    given = credential.encode()
    if mode == "Key":
        matches = [hmac.compare_digest(given, (keys.get(k) or "").encode()) for k in ("primaryKey", "secondaryKey")]
        return any(matches)
    if mode == "AMLToken" and keys.get("tokenSecret"):
        payload, _, _ = credential.partition(".")
        try:
            expiry = int(json.loads(base64.urlsafe_b64decode(payload + "==").decode())["exp"])
        except (ValueError, KeyError, TypeError):
            return False
        audience = f"{record['workspace']}/{record['kind']}/{record['name'].lower()}"
        expected = _sign(keys["tokenSecret"], audience, expiry).encode()
        return hmac.compare_digest(given, expected) and expiry > (time.time() if now is None else now)
    return False


def _new_key() -> str:
    return secrets.token_urlsafe(24)


def _sign(secret: str, audience: str, expiry: int) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"aud": audience, "exp": expiry}).encode()).decode().rstrip("=")
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


def _missing_properties():
    raise Invalid("the request body needs a 'properties' object")


__all__ = ["Endpoints", "NotFound", "Provisioner", "TOKEN_LIFETIME", "credential_valid"]
