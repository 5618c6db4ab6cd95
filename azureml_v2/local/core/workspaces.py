"""A workspace's PUT and PATCH bodies, checked: the members of the spec's WorkspaceProperties the local workspace
keeps (and shows again), each of its type; any other member is refused, as it could not be shown back as the spec
has it."""
from __future__ import annotations

from . import checks

# what reads add; a PUT or PATCH ignores them
READ_ONLY = ("workspaceId", "provisioningState", "discoveryUrl", "mlFlowTrackingUri", "tenantId", "privateLinkCount",
             "privateEndpointConnections", "serviceProvisionedResourceGroup", "notebookInfo", "storageHnsEnabled")
_STRINGS = ("description", "friendlyName", "keyVault", "applicationInsights", "containerRegistry", "storageAccount",
            "imageBuildCompute", "primaryUserAssignedIdentity")
_FLAGS = ("hbiWorkspace", "allowPublicAccessWhenBehindVnet", "v1LegacyMode", "enableDataIsolation")
_RULE_DESTINATIONS = {"FQDN": None, "PrivateEndpoint": {"serviceResourceId": str, "sparkEnabled": bool,
                                                        "subresourceTarget": str},
                      "ServiceTag": {"portRanges": str, "protocol": str, "serviceTag": str, "action": str}}


def workspace_doc(body: dict) -> dict:
    """A workspace's tracked resource (location, tags, identity, sku, kind around `properties`), checked."""
    doc = checks.tracked(body)
    if "sku" in doc:
        _only(doc["sku"], ("name", "tier", "size", "family", "capacity"), "sku")
        for member in ("size", "family"):
            checks.check(doc["sku"], member, str)
        checks.check_enum(doc["sku"], "tier", ("Free", "Basic", "Standard", "Premium"), where="sku")
    props = checks.check(doc, "properties", dict) or {}
    props = {k: v for k, v in props.items() if k not in READ_ONLY and v is not None}
    _only(props, (*_STRINGS, *_FLAGS, "publicNetworkAccess", "encryption", "managedNetwork"), "properties")
    for key in _STRINGS:
        checks.check(props, key, str)
    for key in _FLAGS:
        checks.check(props, key, bool)
    checks.check_enum(props, "publicNetworkAccess", ("Enabled", "Disabled"))
    encryption = checks.check(props, "encryption", dict)
    if encryption is not None:
        _encryption(encryption)
    network = checks.check(props, "managedNetwork", dict)
    if network is not None:
        _network(network)
    doc["properties"] = props
    return doc


def _only(obj: dict, known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(obj) - set(known))
    if unknown:
        raise checks.Invalid(f"{where}.{unknown[0]}: not a member the local workspace keeps (known: "
                             f"{', '.join(known)})")


def _encryption(encryption: dict) -> None:
    _only(encryption, ("status", "keyVaultProperties", "identity"), "properties.encryption")
    checks.check_enum(encryption, "status", ("Enabled", "Disabled"), required=True, where="properties.encryption")
    key = encryption.get("keyVaultProperties")
    if not isinstance(key, dict):
        raise checks.Invalid("properties.encryption.keyVaultProperties is required (an object)")
    _only(key, ("keyVaultArmId", "keyIdentifier", "identityClientId"), "properties.encryption.keyVaultProperties")
    for member in ("keyVaultArmId", "keyIdentifier", "identityClientId"):
        if not isinstance(key.get(member, ""), str) or (member != "identityClientId" and member not in key):
            raise checks.Invalid(f"properties.encryption.keyVaultProperties.{member}: expected a string")
    identity = encryption.get("identity")
    if identity is not None and not (isinstance(identity, dict) and set(identity) <= {"userAssignedIdentity"}
                                     and all(isinstance(v, str) for v in identity.values())):
        raise checks.Invalid("properties.encryption.identity: expected {\"userAssignedIdentity\": <ARM id>}")


def _network(network: dict) -> None:
    where = "properties.managedNetwork"
    _only(network, ("isolationMode", "outboundRules"), where)
    checks.check_enum(network, "isolationMode", ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound"),
                      where=where)
    rules = checks.check(network, "outboundRules", dict) or {}
    for name, rule in rules.items():
        at = f"{where}.outboundRules.{name}"
        if not isinstance(rule, dict):
            raise checks.Invalid(f"{at}: expected an object")
        _only(rule, ("type", "category", "destination"), at)
        checks.check_enum(rule, "type", tuple(_RULE_DESTINATIONS), required=True, where=at)
        checks.check_enum(rule, "category", ("Required", "Recommended", "UserDefined", "Dependency"), where=at)
        members, destination = _RULE_DESTINATIONS[rule["type"]], rule.get("destination")
        if destination is None:
            continue
        if members is None:
            if not isinstance(destination, str):
                raise checks.Invalid(f"{at}.destination: an FQDN rule's destination is a host name")
            continue
        if not isinstance(destination, dict):
            raise checks.Invalid(f"{at}.destination: expected an object")
        _only(destination, tuple(members), f"{at}.destination")
        for member, kind in members.items():
            if member in destination and not isinstance(destination[member], kind):
                raise checks.Invalid(f"{at}.destination.{member}: expected {kind.__name__}")
