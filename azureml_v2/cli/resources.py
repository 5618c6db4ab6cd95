"""What each `azml workspace|registry|connection` verb does."""
from __future__ import annotations

import sys

from .._yaml import api as loaders
from .commands import _overrides, client_for, print_result

# group -> (client attribute, the loader of its YAML)
_GROUPS = {
    "workspace": ("workspaces", loaders.load_workspace),
    "registry": ("registries", loaders.load_registry),
    "connection": ("connections", loaders.load_connection),
}


def run_resource(args) -> int:
    attr, loader = _GROUPS[args.group]
    client = client_for(args)
    ops = getattr(client, attr)
    verb, name = args.verb, getattr(args, "name", None)
    if args.group == "workspace" and verb in ("show", "update", "delete"):
        name = name or client.workspace_name
    if verb == "create":
        source = args.file or {"name": name or client.workspace_name}  # `-f` is optional for a workspace only
        entity = loader(source, params_override=_overrides(args.overrides), name=name)
        result = ops.create_or_update(entity) if args.group == "connection" else ops.begin_create(entity).result()
    elif verb == "update":  # the current workspace, with the file's fields and the --set overrides over it
        current = loaders.as_dict(ops.get(name))
        for key in ("discovery_url", "mlflow_tracking_uri", "workspace_id"):
            current.pop(key, None)
        if args.file:
            current = {**current, **loaders.as_dict(loaders.load_workspace(args.file))}
        result = ops.begin_update(loader(current, params_override=_overrides(args.overrides))).result()
    elif verb == "show":
        result = ops.get(name)
    elif verb == "list":
        result = list(ops.list(connection_type=args.type) if args.group == "connection" else ops.list())
    else:  # delete
        if not args.yes and sys.stdin.isatty():
            if input(f"Delete {args.group} {name!r} and everything in it? [y/N] ").strip().lower() not in ("y", "yes"):
                return 1
        if args.group == "connection":
            ops.delete(name)
        else:
            ops.begin_delete(name).result()
        return 0
    print_result(result, args.output)
    return 0
