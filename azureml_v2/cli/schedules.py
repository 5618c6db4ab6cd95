"""What each `azml schedule` verb does: create, show (with its next firings and, on the local workspace, every
past one), list, enable, disable, trigger, delete, and run (fire the local workspace's schedules in the foreground)."""
from __future__ import annotations

import sys

from .._yaml.api import load_schedule
from .commands import UsageError, _as_dict, _cloud, _overrides, client_for, print_result, run_scheduler


def run_schedule(args) -> int:
    if args.verb == "run":
        if _cloud(args) is not None:
            raise UsageError("azml schedule run fires the local workspace's schedules; Azure ML fires its own")
        return run_scheduler()
    client = client_for(args)
    ops = client.schedules
    verb = args.verb
    if verb == "create":
        schedule = load_schedule(args.file, params_override=_overrides(args.overrides))
        if args.name:
            schedule.name = args.name
        poller = ops.begin_create_or_update(schedule)
        if args.no_wait:
            return 0
        result = poller.result()
    elif verb == "show":
        schedule = ops.get(args.name)
        result = {**_as_dict(schedule),
                  "next_firings": [t.isoformat() for t in ops.next_firings(schedule, count=args.next)]}
        if client._backend.records_firings:
            result["firings"] = [{k: v for k, v in vars(f).items() if v not in (None, False)}
                                 for f in ops.firings(args.name)]
    elif verb == "list":
        view = "All" if args.all else "DisabledOnly" if args.disabled_only else "EnabledOnly"
        result = list(ops.list(list_view_type=view))
    elif verb in ("enable", "disable"):
        poller = getattr(ops, f"begin_{verb}")(args.name)
        if args.no_wait:
            return 0
        result = poller.result()
    elif verb == "trigger":
        fired = ops.trigger(args.name, schedule_time=args.schedule_time)
        result = {"job_name": fired.job_name, "schedule_action_type": fired.schedule_action_type}
    else:  # delete
        if not args.yes and sys.stdin.isatty():
            if input(f"Delete schedule {args.name!r}? [y/N] ").strip().lower() not in ("y", "yes"):
                return 1
        poller = ops.begin_delete(args.name)
        if not args.no_wait:
            poller.result()
        return 0
    print_result(result, args.output)
    return 0
