"""What each `azml compute` verb does."""
from __future__ import annotations

import sys

from .._yaml import api as loaders
from .._yaml.api import as_dict
from .commands import UsageError, _overrides, client_for, print_result

# what `show` prints that a file does not hold: dropped before the current compute is loaded again for an update
_SERVICE_FIELDS = ("provisioning_state", "state", "last_operation")
# options that set a field of the YAML, as az ml names them
_FIELDS = ("size", "min_instances", "max_instances", "idle_time_before_scale_down")


def run_compute(args) -> int:
    ops = client_for(args).compute
    verb = args.verb
    if verb in ("create", "update"):
        entity = _entity(args, ops)
        poller = ops.begin_create_or_update(entity) if verb == "create" else ops.begin_update(entity)
        if args.no_wait:
            return 0
        result = poller.result()
    elif verb == "show":
        result = ops.get(args.name)
    elif verb == "list":
        result = list(ops.list(compute_type=args.type))
    elif verb == "delete":
        if not args.yes and sys.stdin.isatty():
            answer = input(f"{args.action} compute {args.name!r}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                return 1
        poller = ops.begin_delete(args.name, action=args.action)
        if not args.no_wait:
            poller.result()
        return 0
    else:  # start, stop, restart: argparse lets no other verb through
        poller = getattr(ops, f"begin_{verb}")(args.name)
        if not args.no_wait:
            poller.result()
        return 0
    print_result(result, args.output)
    return 0


def _entity(args, ops):
    """What a create or update sends: the file (or, for a create without one, --name and --type; for an update, the
    compute as it is), with the options and --set fields applied."""
    overrides = _overrides(args.overrides)
    options = {k: getattr(args, k, None) for k in _FIELDS if getattr(args, k, None) is not None}
    if options:
        overrides.append(options)
    if args.verb == "create":
        if args.file:
            kwargs = {"name": args.name, "type": args.type}
            return loaders.load_compute(args.file, params_override=overrides, **kwargs)
        if not (args.name and args.type):
            raise UsageError("give --file, or --name and --type (amlcompute or computeinstance)")
        return loaders.load_compute({"name": args.name, "type": args.type}, params_override=overrides)
    current = ops.get(args.name)
    if current.type != "amlcompute":
        raise UsageError(f"compute {args.name!r} is a {current.type}: only clusters (amlcompute) are updated")
    data = {k: v for k, v in as_dict(current).items() if k not in _SERVICE_FIELDS}
    return loaders.load_compute(data, params_override=overrides)
