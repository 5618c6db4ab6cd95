"""What each `azml` verb does: load, call the operation group, print."""
from __future__ import annotations

import dataclasses
import errno
import itertools
import json
import logging
import os
import sys

import yaml

from .._client import MLClient
from .._contract import (LOCAL_RESOURCE_GROUP, LOCAL_SCOPE, LOCAL_SUBSCRIPTION, MAX_CONCURRENT_NODES,
                         workspace_scope)
from .._steps import dag
from .._steps import summary as steps_summary
from .._steps import table as steps_table
from .._trials import cells, summary, table
from .._yaml import api as loaders
from .._yaml.api import _DUMPERS, as_dict
from ..exceptions import AzureMLError, JobFailedError, NotAvailableError, ValidationError


def _cloud(args) -> tuple[str, str, str] | None:
    """(subscription, resource group, workspace) of the Azure ML workspace the options name; None: a local one
    (`--workspace-name` alone names a workspace of the local home)."""
    registry = getattr(args, "registry_name", None)
    cloud = (args.subscription, args.resource_group, registry or args.workspace_name)
    if not (args.subscription or args.resource_group):
        return None
    if not all(cloud):
        raise UsageError("give --workspace-name (or --registry-name), --resource-group and --subscription together "
                         "(or only --workspace-name, for a workspace of the local home)")
    return cloud


def client_for(args) -> MLClient:
    cloud = _cloud(args)
    registry = getattr(args, "registry_name", None)
    if cloud is None:
        return MLClient(workspace_name=None if registry else args.workspace_name, registry_name=registry)
    try:  # an optional extra: azureml_v2[azure]
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise UsageError("an Azure ML workspace needs azure-identity: pip install 'azureml_v2[azure]'") from None
    if not getattr(args, "debug", False):  # its warnings repeat, line by line, the error the command reports
        logging.getLogger("azure.identity").setLevel(logging.ERROR)
    if registry:
        return MLClient(DefaultAzureCredential(), *cloud[:2], registry_name=registry)
    return MLClient(DefaultAzureCredential(), *cloud)


class UsageError(Exception):
    pass


def _scope(args) -> str:
    """The workspace the command names: an Azure one, or the local one when no workspace option is given."""
    cloud = _cloud(args)
    if cloud is None:
        return LOCAL_SCOPE if not args.workspace_name else \
            workspace_scope(LOCAL_SUBSCRIPTION, LOCAL_RESOURCE_GROUP, args.workspace_name)
    return workspace_scope(*cloud)


def _overrides(pairs: list[str]) -> list[dict]:
    out = []
    for pair in pairs:
        path, sep, raw = pair.partition("=")
        if not sep or not path:
            raise UsageError(f"--set expects PATH=VALUE, got {pair!r}")
        out.append({path: yaml.safe_load(raw) if raw else ""})
    return out


def _list_view(args) -> str:
    if getattr(args, "archived_only", False):
        return "ArchivedOnly"
    return "All" if getattr(args, "include_archived", False) else "ActiveOnly"


def run(args, group: tuple) -> int:
    """Carry out one asset verb; `group` is the (help, client attribute, loader, verbs) entry."""
    _, attr, loader, _ = group
    ops = getattr(client_for(args), attr)
    verb = args.verb
    if verb == "create":
        kwargs = {"name": args.name}
        if getattr(args, "version", None) is not None:
            kwargs["version"] = args.version
        entity = getattr(loaders, loader)(args.file, params_override=_overrides(args.overrides), **kwargs)
        result = ops.create_or_update(entity)
    elif verb == "show":
        if args.group == "datastore":
            result = ops.get(args.name)
        else:
            result = ops.get(args.name, version=args.version, label=args.label)
    elif verb == "list":
        if args.group == "datastore":
            result = list(ops.list())
        else:
            result = list(ops.list(name=args.name, list_view_type=_list_view(args)))
    elif verb in ("archive", "restore"):
        getattr(ops, verb)(args.name, version=args.version)
        return 0
    elif verb == "share":
        result = ops.share(args.name, args.version, registry_name=args.share_registry, share_with_name=args.share_with_name,
                           share_with_version=args.share_with_version)
    elif verb == "delete":
        if not args.yes and sys.stdin.isatty():
            answer = input(f"Delete {args.group} {args.name!r}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                return 1
        ops.delete(args.name)
        return 0
    else:  # argparse only lets known verbs through
        raise UsageError(f"unknown verb {verb}")
    print_result(result, args.output)
    return 0


def run_job(args) -> int:
    """Carry out one `azml job` verb."""
    verb = args.verb
    if verb in ("create", "validate"):
        job = loaders.load_job(args.file, params_override=_overrides(args.overrides))
        if verb == "validate":
            print_result(job.to_rest(scope=_scope(args)) if args.rest else job, args.output)
            return 0
    ops = client_for(args).jobs
    if verb == "create":
        if args.max_concurrency is not None:
            if args.max_concurrency < 1:
                raise UsageError("--max-concurrency must be at least 1")
            job.properties = {**(job.properties or {}), MAX_CONCURRENT_NODES: str(args.max_concurrency)}
        created = ops.create_or_update(job, name=args.name)
        if args.stream:
            return _stream(ops, created.name)
        result = _job_dict(created)
    elif verb == "show":
        job = ops.get(args.name)
        if type(job).__name__ not in ("CommandJob", "SweepJob"):
            try:
                return _show_pipeline(ops, job, args.output)
            except ValidationError:  # not a pipeline: the job's own fields
                pass
        if type(job).__name__ == "SweepJob":
            try:
                return _show_sweep(ops, job, args.output)
            except NotAvailableError:  # its trials cannot be listed on this workspace: the sweep alone
                pass
        result = _job_dict(job)
    elif verb == "plot":
        print(ops.plot(args.name, args.path))
        return 0
    elif verb == "list":
        if args.max_results < 1:
            raise UsageError("--max-results must be at least 1")
        jobs = ops.list(parent_job_name=args.parent_job_name, list_view_type=_list_view(args))
        result = [_job_dict(j) for j in (jobs if args.all_results else itertools.islice(jobs, args.max_results))]
    elif verb == "stream":
        return _stream(ops, args.name)
    elif verb == "cancel":
        ops.begin_cancel(args.name).result()
        return 0
    elif verb == "download":
        written = ops.download(args.name, download_path=args.download_path, output_name=args.output_name,
                               all=args.all)
        for folder in written:
            print(f"downloaded {folder}")
        if not written:
            print(f"job {args.name} has no files to download" + _best_trial_hint(ops, args.name))
        return 0
    else:  # archive, restore: argparse lets no other verb through
        getattr(ops, verb)(args.name)
        return 0
    print_result(result, args.output)
    return 0


def _stream(ops, name: str) -> int:
    """Follow a job to its end: 0 when it completed, else its failure on one line and 1. Ctrl-C stops following,
    not the job (as on Azure ML): say so, and how to follow or cancel it."""
    try:
        ops.stream(name)
    except KeyboardInterrupt:
        sys.stdout.flush()
        sys.stderr.write(f"\nazml: stopped following job {name}; it goes on running. Follow it again with "
                         f"`azml job stream -n {name}`, or stop it with `azml job cancel -n {name}`\n")
        return 130
    except JobFailedError as err:
        # the log was just shown: its first line and the last (the exception, usually) say enough
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        sys.stdout.flush()
        sys.stderr.write(f"azml: error: {' '.join(lines[:1] + lines[1:][-1:])}\n")
        return 1
    return 0


def _best_trial_hint(ops, name: str) -> str:
    """For a sweep (whose files are its trials'): which trial to download."""
    job = ops.get(name)
    if type(job).__name__ != "SweepJob":
        return ""
    try:
        best = ops._sweep_view(ops._get("jobs", name)).best()
    except NotAvailableError:
        best = None
    return (f": a sweep's files are its trials'; its best trial is {best.name}: azml job download -n {best.name}"
            if best else ": a sweep's files are its trials' (list them with azml job show -n " + name + ")")


def _show_sweep(ops, job, fmt: str) -> int:
    """A sweep with its trials: as a table of trials and the best one, or its fields plus `trials`."""
    view = ops._sweep_view(ops._get("jobs", job.name))
    if fmt in ("table", "tsv"):
        lines = table(view) + summary(view) if fmt == "table" else ["\t".join(row) for row in cells(view)[1]]
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    best = view.best()
    trials = [{"trial": t.number, "name": t.name, "status": t.status, "params": t.params,
               view.primary_metric: t.metric} for t in view.trials]
    print_result({**_job_dict(job), "best_trial": best.name if best else None, "trials": trials}, fmt)
    return 0


def _show_pipeline(ops, job, fmt: str) -> int:
    """A pipeline with its nodes: the DAG, a table of nodes (reused from which job, or ran and why) and its outputs;
    or its fields plus `nodes`."""
    view = ops.pipeline_view(job.name)
    if fmt == "table":
        lines = [f"Pipeline {view.name}", *dag(view), "", *steps_table(view), *steps_summary(view)]
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    nodes = [{"node": n.name, "job": n.job, "status": n.status, "after": n.after, "reused_from": n.reused_from,
              "ran_because": n.ran_because, "metric": dict([n.metric]) if n.metric else None} for n in view.nodes]
    print_result({**_job_dict(job), "nodes": nodes}, fmt)
    return 0


def _job_dict(job) -> dict:
    # the YAML form has no status: it is the service's, and what `show` and `list` are read for; nor, for the
    # default kind, a type (`command`), which a list of jobs of several kinds needs
    fields = _as_dict(job)
    kind = getattr(job, "type", None)
    return {**fields, **({"type": kind} if kind and "type" not in fields else {}), "status": job.status}


def run_server(args) -> int:
    from ..local.api import server  # import budget: only `azml server` loads the local workspace's server
    home = server.default_home()
    if args.verb == "start":
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            sys.stderr.write(f"warning: serving on {args.host}, reachable beyond this machine\n")
        state, token = server.start(home, args.host, args.port, tls=args.tls, certfile=args.certfile,
                                    keyfile=args.keyfile)
        print(f"serving {home} at {state['endpoint']} (pid {state['pid']})")
        if state.get("cafile"):
            print(f"certificate for clients to trust: {state['cafile']}")
        print(f"read-only (reader) token in {home / server.TOKEN_FILES[server.READER]}, mode 0600")
        if token:
            print(f"bearer token (shown once; kept in {home / server.TOKEN_FILE}, mode 0600):\n{token}")
        return 0
    if args.verb == "token":
        print(server.ensure_token(home, args.role)[0])
        return 0
    if args.verb == "stop":
        stopped = server.stop(home)
        print("stopped" if stopped else "no server was running")
        return 0
    state = server.status(home)
    print(f"running at {state['endpoint']} (pid {state['pid']})" if state else "not running")
    return 0 if state else 3


def run_studio(args) -> int:
    from ..local.api import server  # import budget: only `azml server` and `azml studio` load the server
    home = server.default_home()
    state = server.status(home)
    if state is None:
        state, _ = server.start(home)
        print(f"started the server of {home} at {state['endpoint']} (pid {state['pid']}); `azml server stop` ends it")
    url = server.studio_url(home, state, args.role)
    print(f"azml studio (this URL signs in once, within the hour):\n    {url}")
    graphical = sys.platform in ("darwin", "win32") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if graphical and not args.no_browser:  # without a display, a text browser would take the terminal over
        import webbrowser  # import budget: only when a browser is to be opened
        webbrowser.open(url)
    return 0


def run_scheduler() -> int:
    """`azml schedule run`: fire the local workspace's schedules in the foreground until interrupted."""
    from ..local.api import server  # import budget: as run_server
    server.fire_schedules(server.default_home())
    return 0


def _as_dict(value):
    if isinstance(value, dict):
        return value
    if type(value).__name__ in _DUMPERS:
        return as_dict(value)
    # entities with no YAML form yet (compute): their set fields
    return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}


def print_result(result, fmt: str) -> None:
    rows = [_as_dict(r) for r in result] if isinstance(result, list) else _as_dict(result)
    out = sys.stdout
    if fmt == "json":
        json.dump(rows, out, indent=2, default=str)
        out.write("\n")
    elif fmt == "yaml":
        yaml.safe_dump(rows, out, sort_keys=False, default_flow_style=False)
    else:
        items = rows if isinstance(rows, list) else [rows]
        columns = [c for c in ("name", "version", "endpoint_name", "type", "status", "is_enabled",
                                "provisioning_state", "path", "image", "description")
                   if any(c in r for r in items)] or sorted({k for r in items for k in r})[:6]
        table = [[_cell(r.get(c)) for c in columns] for r in items]
        if fmt == "tsv":
            for row in table:
                out.write("\t".join(row) + "\n")
            return
        widths = [max([len(c)] + [len(row[i]) for row in table]) for i, c in enumerate(columns)]
        out.write("  ".join(c.capitalize().ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for row in table:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value) if not isinstance(value, (dict, list)) else json.dumps(value)
    return text.replace("\t", " ").replace("\n", " ")


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, (ValidationError, UsageError)):
        return f"azml: error: {exc}" if isinstance(exc, UsageError) else str(exc)
    if isinstance(exc, AzureMLError):  # the package's own errors say what is wrong: no exception name needed
        return f"azml: error: {exc}"
    try:  # import-time budget: azure-core is loaded only once a workspace was called
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    except ImportError:  # pragma: no cover - azure-core is a dependency
        ClientAuthenticationError = HttpResponseError = ()
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        # no credential could get a token (the service was not reached): azure-identity lists each one's reason
        first = str(exc.message or exc).strip().splitlines()[0]
        return (f"azml: error: {first} Sign in with `az login` or set the AZURE_* environment variables "
                "(run with --debug for each credential's reason)")
    if isinstance(exc, HttpResponseError):
        status = getattr(exc, "status_code", None)
        message = exc.error.message if getattr(exc, "error", None) and exc.error.message else exc.message
        return f"azml: error: {message}" + (f" (HTTP {status})" if status else "")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        # a copy names its source first (filename) and its target second: the full disk is the target's
        target = os.path.dirname(exc.filename2) if exc.filename2 else exc.filename
        return (f"azml: error: no space left on the disk of {target}: free some space and retry" if target else
                "azml: error: no space left on the disk: free some space and retry")
    if isinstance(exc, OSError):
        return f"azml: error: {exc.strerror or exc}: {exc.filename}" if exc.filename else f"azml: error: {exc}"
    return f"azml: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
