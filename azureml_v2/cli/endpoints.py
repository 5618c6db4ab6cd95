"""What each `azml online-endpoint|online-deployment|batch-endpoint|batch-deployment` verb does."""
from __future__ import annotations

import dataclasses
import sys

from .._yaml import api as loaders
from .._yaml.api import as_dict
from .commands import UsageError, _overrides, client_for, print_result

# group -> (client attribute, the loader of its YAML)
_GROUPS = {
    "online-endpoint": ("online_endpoints", loaders.load_online_endpoint),
    "online-deployment": ("online_deployments", loaders.load_online_deployment),
    "batch-endpoint": ("batch_endpoints", loaders.load_batch_endpoint),
    "batch-deployment": ("batch_deployments", loaders.load_batch_deployment),
}
# what `show` prints that a file does not hold: dropped before the current resource is loaded again for an update
_SERVICE_FIELDS = ("provisioning_state", "scoring_uri", "openapi_uri")


def run_endpoint(args) -> int:
    attr, loader = _GROUPS[args.group]
    client = client_for(args)
    ops = getattr(client, attr)
    deployment = args.group.endswith("deployment")
    key = (args.name, args.endpoint_name) if deployment and args.verb != "list" else \
        (args.endpoint_name,) if deployment else (getattr(args, "name", None),)
    verb = args.verb
    if verb in ("create", "update"):
        shares = {}
        if verb == "update" and args.group == "online-endpoint":  # checked before anything is asked of the service
            shares = {attribute: _shares(option, "--" + attribute.replace("_", "-")) for option, attribute in
                      ((args.traffic, "traffic"), (args.mirror_traffic, "mirror_traffic")) if option is not None}
        entity = _entity(args, ops, loader, deployment)
        for attribute, value in shares.items():
            setattr(entity, attribute, value)
        if getattr(args, "set_default", False) or getattr(args, "all_traffic", False):
            entity.endpoint_name = entity.endpoint_name or args.endpoint_name
        poller = ops.begin_create_or_update(entity)
        if args.no_wait:
            return 0
        result = poller.result()
        if getattr(args, "all_traffic", False):
            _route_all(client.online_endpoints, result.endpoint_name, result.name)
        if getattr(args, "set_default", False):
            _make_default(client.batch_endpoints, result.endpoint_name, result.name)
    elif verb == "show":
        result = ops.get(*key)
    elif verb == "list":
        result = list(ops.list(*key) if deployment else ops.list())
    elif verb == "delete":
        if not args.yes and sys.stdin.isatty():
            answer = input(f"Delete {args.group} {args.name!r}" + (" and all its deployments" if not deployment
                                                                   else "") + "? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                return 1
        poller = ops.begin_delete(*key)
        if not args.no_wait:
            poller.result()
        return 0
    elif verb == "invoke" and args.group == "online-endpoint":
        sys.stdout.write(ops.invoke(args.name, request_file=args.request_file,
                                    deployment_name=args.deployment_name).rstrip("\n") + "\n")
        return 0
    elif verb == "invoke":
        from ..entities.inputs import Input  # import budget: as this module
        job = ops.invoke(args.name, deployment_name=args.deployment_name,
                         input=Input(type=args.input_type, path=args.input))
        result = {**as_dict(job), "status": job.status}
    elif verb == "list-jobs":
        jobs = ops.list_jobs(args.endpoint_name, name=args.name) if deployment else ops.list_jobs(args.name)
        result = [{**as_dict(j), "status": j.status} for j in jobs]
    elif verb == "get-credentials":
        result = {k: v for k, v in dataclasses.asdict(ops.get_keys(args.name)).items() if v is not None}
    elif verb == "regenerate-keys":
        poller = ops.begin_regenerate_keys(args.name, key_type=args.key_type)
        if not args.no_wait:
            poller.result()
        return 0
    else:  # get-logs: argparse lets no other verb through
        container = args.container.replace("-", "_")
        sys.stdout.write(ops.get_logs(args.name, args.endpoint_name, lines=args.lines, container_type=container))
        return 0
    print_result(result, args.output)
    return 0


def _entity(args, ops, loader, deployment: bool):
    """What a create or update sends: the file (with --name, --endpoint-name and --set), or, for an update without
    a file, the resource as it is with the --set fields changed."""
    names = {"name": args.name}
    if deployment:
        names["endpoint_name"] = args.endpoint_name
    overrides = _overrides(args.overrides)
    if args.file:
        return loader(args.file, params_override=overrides, **names)
    if args.verb == "create":
        if deployment:
            raise UsageError("a deployment is created from a file: give --file")
        if not args.name:
            raise UsageError("give --file, or --name for an endpoint with the default settings")
        return loader({"name": args.name}, params_override=overrides)
    if not args.name or (deployment and not args.endpoint_name):
        raise UsageError("give --file, or the name" + (" and --endpoint-name" if deployment else "") +
                         " of what to update")
    current = ops.get(args.name, args.endpoint_name) if deployment else ops.get(args.name)
    data = {k: v for k, v in as_dict(current).items() if k not in _SERVICE_FIELDS}
    return loader(data, params_override=overrides)


def _shares(text: str, option: str) -> dict[str, int]:
    """`"blue=90 green=10"` -> {"blue": 90, "green": 10}."""
    shares = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise UsageError(f'{option} expects deployment=percentage pairs such as "blue=90 green=10", got {part!r}')
        shares[name] = int(value)
    return shares


def _route_all(endpoints, endpoint_name: str, deployment_name: str) -> None:
    endpoint = endpoints.get(endpoint_name)
    endpoint.traffic = {deployment_name: 100}
    endpoints.begin_create_or_update(endpoint).result()


def _make_default(endpoints, endpoint_name: str, deployment_name: str) -> None:
    from ..entities.endpoints import BatchEndpointDefaults  # import budget: as this module

    endpoint = endpoints.get(endpoint_name)
    endpoint.defaults = BatchEndpointDefaults(deployment_name=deployment_name)
    endpoints.begin_create_or_update(endpoint).result()
