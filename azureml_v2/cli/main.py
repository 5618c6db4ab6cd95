"""`azml` entry point: argument parsing stays import-light; work modules load per command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# group -> (help, client attribute, load function, verbs)
ASSET_GROUPS = {
    "data": ("Manage data assets.", "data", "load_data", ("create", "show", "list", "archive", "restore", "share")),
    "environment": ("Manage environments.", "environments", "load_environment",
                    ("create", "show", "list", "archive", "restore", "share")),
    "model": ("Manage models.", "models", "load_model", ("create", "show", "list", "archive", "restore", "share")),
    "component": ("Manage components.", "components", "load_component",
                  ("create", "show", "list", "archive", "restore", "share")),
    "datastore": ("Manage datastores.", "datastores", "load_datastore", ("create", "show", "list", "delete")),
}


# group -> (help, verbs with their help); cli/endpoints.py carries them out
ENDPOINT_GROUPS = {
    "online-endpoint": ("Manage online endpoints.", {
        "create": "Create an online endpoint (from a YAML file, or just a name).",
        "update": "Update an online endpoint: its file, --set fields, --traffic or --mirror-traffic.",
        "show": "Show an online endpoint.", "list": "List online endpoints.",
        "delete": "Delete an online endpoint and all its deployments.",
        "invoke": "Send a scoring request to an online endpoint.",
        "get-credentials": "Show the keys (key) or a token (aml_token, aad_token) of an online endpoint.",
        "regenerate-keys": "Replace the primary or secondary key of an online endpoint."}),
    "online-deployment": ("Manage online deployments.", {
        "create": "Create an online deployment from a YAML file.",
        "update": "Update an online deployment: its file or --set fields.",
        "show": "Show an online deployment.", "list": "List the deployments of an online endpoint.",
        "delete": "Delete an online deployment.", "get-logs": "Show the logs of an online deployment."}),
    "batch-endpoint": ("Manage batch endpoints.", {
        "create": "Create a batch endpoint (from a YAML file, or just a name).",
        "update": "Update a batch endpoint: its file or --set fields.",
        "show": "Show a batch endpoint.", "list": "List batch endpoints.",
        "delete": "Delete a batch endpoint and all its deployments.",
        "invoke": "Score data with a batch endpoint: starts a batch scoring job.",
        "list-jobs": "List the scoring jobs of a batch endpoint."}),
    "batch-deployment": ("Manage batch deployments.", {
        "create": "Create a batch deployment from a YAML file.",
        "update": "Update a batch deployment: its file or --set fields.",
        "show": "Show a batch deployment.", "list": "List the deployments of a batch endpoint.",
        "delete": "Delete a batch deployment.", "list-jobs": "List the scoring jobs of a batch deployment."}),
}


# group -> (help, verbs with their help); cli/resources.py carries them out
RESOURCE_GROUPS = {
    "workspace": ("Manage workspaces (locally: the workspaces of the home); export and import them.", {
        "create": "Create a workspace from a YAML file.", "show": "Show a workspace.", "list": "List workspaces.",
        "update": "Update a workspace: its file or --set fields (tags, description, display_name, ...).",
        "delete": "Delete a workspace with everything in it."}),
    "registry": ("Manage registries: assets shared by workspaces.", {
        "create": "Create a registry from a YAML file.", "show": "Show a registry.", "list": "List registries.",
        "delete": "Delete a registry with its assets."}),
    "connection": ("Manage workspace connections (secrets are never shown).", {
        "create": "Create or update a connection from a YAML file.", "show": "Show a connection.",
        "list": "List connections.", "delete": "Delete a connection."}),
}


# `azml schedule` verbs; cli/schedules.py carries them out
SCHEDULE_VERBS = {
    "create": "Create or update a schedule from a YAML file.",
    "show": "Show a schedule, when it fires next and (local workspace) every past firing with its job.",
    "list": "List schedules (enabled ones by default).",
    "enable": "Enable a schedule.",
    "disable": "Disable a schedule (it is kept, and fires no more until enabled).",
    "trigger": "Fire a schedule once now.",
    "delete": "Delete a schedule.",
    "run": "Fire the local workspace's schedules in the foreground (azml server does it too).",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"azml: error: {message}\n")
        raise SystemExit(2)


class _Version(argparse.Action):
    """--version, read only when asked for (importlib.metadata costs every other command time)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version  # import budget: only for --version
        try:
            found = version("azureml_v2")
        except PackageNotFoundError:  # run from a checkout that is not installed
            found = "unknown"
        print(f"azml {found} (Python {sys.version.split()[0]})")
        raise SystemExit(0)


def _port(text: str) -> int:
    """A TCP port (0: a free one); a number past 65535 would wrap around to another port."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: expected a number from 0 to 65535")
    return port


def _workspace(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace (omit all three for the local workspace)")
    group.add_argument("--workspace-name", "-w", help="Azure ML workspace name.")
    group.add_argument("--resource-group", "-g", help="Azure resource group.")
    group.add_argument("--subscription", help="Azure subscription id.")


def _workspace_options(parser: argparse.ArgumentParser) -> None:
    _workspace(parser)
    parser.add_argument("--output", "-o", choices=("json", "yaml", "table", "tsv"), default="json",
                        help="Output format (default: json).")
    parser.add_argument("--debug", action="store_true", help="Show the full traceback on errors.")


# verb -> help; cli/compute.py carries them out
COMPUTE_VERBS = {
    "create": "Create a compute (from a YAML file, or --name and --type with options).",
    "update": "Update a cluster: --min-instances, --max-instances, --idle-time-before-scale-down or --set fields.",
    "show": "Show a compute.", "list": "List computes.", "delete": "Delete (or detach) a compute.",
    "start": "Start a compute instance.", "stop": "Stop a compute instance.", "restart": "Restart a compute instance.",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; the verbs of the endpoint groups only for the group `argv` names (argparse builds each verb's
    options eagerly, and four groups of them would double the time of every other command)."""
    parser = _Parser(prog="azml", description="Azure ML 2.0 jobs and assets, locally or on Azure ML.")
    parser.add_argument("--version", action=_Version, help="Show the version and exit.")
    groups = parser.add_subparsers(dest="group", metavar="<group>", parser_class=_Parser)
    groups.required = True
    for group_name, (help_text, _, loader, verbs) in ASSET_GROUPS.items():
        group = groups.add_parser(group_name, help=help_text, description=help_text)
        sub = group.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
        sub.required = True
        for verb in verbs:
            p = sub.add_parser(verb, help=_VERB_HELP[verb].format(group=group_name))
            if verb == "create":
                p.add_argument("--file", "-f", required=True, help="YAML file describing the resource.")
                p.add_argument("--name", "-n", help="Override the name in the file.")
                if group_name != "datastore":
                    p.add_argument("--version", "-v", help="Override the version in the file.")
                p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                               help="Override a field, e.g. --set tags.stage=dev (repeatable).")
            elif verb == "share":
                p.add_argument("--name", "-n", required=True, help="Name of the asset in the workspace.")
                p.add_argument("--version", "-v", required=True, help="Version of the asset in the workspace.")
                p.add_argument("--registry-name", dest="share_registry", required=True,
                               help="The registry to copy it into.")
                p.add_argument("--share-with-name", help="Its name in the registry (default: the same).")
                p.add_argument("--share-with-version", help="Its version in the registry (default: the same).")
            elif verb == "list":
                if group_name != "datastore":
                    p.add_argument("--name", "-n", help="List the versions of this asset.")
                    p.add_argument("--archived-only", action="store_true", help="List archived assets only.")
                    p.add_argument("--include-archived", action="store_true", help="Include archived assets.")
            else:
                p.add_argument("--name", "-n", required=True, help="Name of the resource.")
                if group_name != "datastore":
                    p.add_argument("--version", "-v", help="Version (default: all for archive/restore).")
                    if verb == "show":
                        p.add_argument("--label", "-l", help="Label, e.g. latest.")
                if verb == "delete":
                    p.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation.")
            if verb in ("show", "list") and group_name not in ("datastore", "compute"):
                p.add_argument("--registry-name", help="The registry's asset, not the workspace's.")
            _workspace_options(p)
    job = groups.add_parser("job", help="Manage jobs.", description="Manage jobs.")
    job_verbs = job.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
    job_verbs.required = True
    for verb, help_text in _JOB_VERBS.items():
        p = job_verbs.add_parser(verb, help=help_text, description=help_text)
        if verb in ("create", "validate"):
            p.add_argument("--file", "-f", required=True, help="YAML file describing the job.")
            p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                           help="Override a field, e.g. --set compute=local (repeatable).")
        elif verb == "list":
            p.add_argument("--parent-job-name", "-p", help="List the child jobs of this job.")
            p.add_argument("--archived-only", action="store_true", help="List archived jobs only.")
            p.add_argument("--include-archived", action="store_true", help="Include archived jobs.")
            p.add_argument("--max-results", "-r", type=int, default=50,
                           help="At most this many jobs, newest first (default: 50).")
            p.add_argument("--all-results", action="store_true", help="List every job.")
        else:
            p.add_argument("--name", "-n", required=True, help="Name of the job.")
        if verb == "create":
            p.add_argument("--name", "-n", help="Name of the job (default: the file's, else a new one).")
            p.add_argument("--stream", "-s", action="store_true",
                           help="Follow the job's log (a sweep: its trials; a pipeline: its nodes); exit 0 only if "
                                "it completes.")
            p.add_argument("--max-concurrency", type=int, metavar="N",
                           help="A pipeline on the local workspace: run at most N nodes at once (default: the "
                                "machine's cores).")
        elif verb == "validate":
            p.add_argument("--rest", action="store_true",
                           help="Print the REST body that would be sent (ids under the workspace given, else the "
                                "local one).")
        elif verb == "download":
            p.add_argument("--output-name", help="The named output to download (default: the job's artifacts).")
            p.add_argument("--all", action="store_true", help="Download the artifacts and every named output.")
            p.add_argument("--download-path", "-p", default=".", help="Folder to download into (default: .).")
        elif verb == "show":
            _export_arm(p, "job")
        elif verb == "plot":
            p.add_argument("--path", required=True,
                           help="Picture to write: .html (self-contained) or .png (needs azureml_v2[plot]).")
        if verb == "validate":
            p.add_argument("--output", "-o", choices=("json", "yaml"), default="yaml",
                           help="Output format (default: yaml).")
            p.add_argument("--debug", action="store_true", help="Show the full traceback on errors.")
            _workspace(p)  # --rest: the ids name this workspace's resources
        else:
            _workspace_options(p)
    named = next((a for a in argv or () if not a.startswith("-")), None)
    _lazy_group(groups, named, "compute", "Manage compute targets.", COMPUTE_VERBS, _compute_verb)
    for group_name, (help_text, verbs) in ENDPOINT_GROUPS.items():
        _lazy_group(groups, named, group_name, help_text, verbs,
                    lambda p, verb, group_name=group_name: _endpoint_verb(p, group_name, verb))
    for group_name, (help_text, verbs) in RESOURCE_GROUPS.items():
        group = groups.add_parser(group_name, help=help_text, description=help_text)
        sub = group.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
        sub.required = True
        for verb, verb_help in verbs.items():
            p = sub.add_parser(verb, help=verb_help, description=verb_help)
            if verb in ("create", "update"):
                p.add_argument("--file", "-f", required=verb == "create" and group_name != "workspace",
                               help="YAML file describing it" + (" (a workspace needs only its name)."
                                                                 if group_name == "workspace" else "."))
                p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                               help="Override a field, e.g. --set tags.team=ml (repeatable).")
            if verb != "list":
                p.add_argument("--name", "-n", required=verb in ("delete",) and group_name != "workspace",
                               help=f"Name of the {group_name}" + (" (default: --workspace-name, else local)."
                                                                   if group_name == "workspace" else "."))
            if verb == "delete":
                p.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation.")
            if verb == "list" and group_name == "connection":
                p.add_argument("--type", "-t", help="Only connections of this type (git, python_feed, ...).")
            _workspace_options(p)
        if group_name == "workspace":
            for verb, verb_help in _TRANSFER_VERBS.items():
                p = sub.add_parser(verb, help=verb_help, description=verb_help)
                p.add_argument("--path", "-p", required=True, help="The folder of the exported tree.")
                if verb == "import":
                    p.add_argument("--include-jobs", action="store_true",
                                   help="Create the exported jobs too (each then runs); left out by default.")
                _workspace_options(p)
    _lazy_group(groups, named, "schedule", "Manage schedules.", SCHEDULE_VERBS, _schedule_verb)
    schema = groups.add_parser("schema", help="JSON Schemas of the YAML files, for editors.",
                               description="JSON Schemas of the YAML files, for editors.")
    schema_verbs = schema.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
    schema_verbs.required = True
    p = schema_verbs.add_parser("export", help="Write <kind>.schema.json for every YAML kind into a folder (VS Code's "
                                               "YAML extension completes and checks files with them).")
    p.add_argument("path", metavar="DIR", help="The folder to write the schemas into.")
    p.add_argument("--debug", action="store_true", help="Show the full traceback on errors.")
    server = groups.add_parser("server", help="Serve the local workspace over HTTP.",
                               description="Serve the local workspace over HTTP (loopback, bearer token).")
    verbs = server.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
    verbs.required = True
    start = verbs.add_parser("start", help="Start the server in the background.")
    start.add_argument("--host", default="127.0.0.1", help="Address to bind (default: 127.0.0.1).")
    start.add_argument("--port", type=_port, default=0, help="Port (default: a free one).")
    start.add_argument("--tls", action="store_true",
                       help="Serve https with a certificate made for this machine, kept in the workspace folder "
                            "(clients trust server-cert.pem there).")
    start.add_argument("--certfile", type=Path, help="Serve https with this PEM certificate (chain) ...")
    start.add_argument("--keyfile", type=Path, help="... and this PEM key.")
    verbs.add_parser("stop", help="Stop the server.")
    verbs.add_parser("status", help="Show whether the server runs, and where.")
    token = verbs.add_parser("token", help="Print a bearer token of the server (created if missing).")
    token.add_argument("--role", choices=("contributor", "reader"), default="contributor",
                       help="contributor: read and write (default); reader: read only.")
    for p in verbs.choices.values():
        p.add_argument("--debug", action="store_true", help="Show the full traceback on errors.")
    studio = groups.add_parser("studio", help="Open the local workspace's web pages (starts the server if needed).",
                               description="Print a one-time login URL of the local workspace's web pages and open "
                                           "it in the default browser; the server is started if none runs.")
    studio.add_argument("--no-browser", action="store_true", help="Only print the login URL.")
    studio.add_argument("--role", choices=("contributor", "reader"), default="contributor",
                        help="contributor: may cancel jobs and invoke endpoints (default); reader: may only look.")
    studio.add_argument("--debug", action="store_true", help="Show the full traceback on errors.")
    return parser


def _lazy_group(groups, named: str | None, name: str, help_text: str, verbs: dict, build_verb) -> None:
    """Group `name`, whose verbs' many options are built only when the command line names the group."""
    group = groups.add_parser(name, help=help_text, description=help_text)
    if name != named:
        return
    sub = group.add_subparsers(dest="verb", metavar="<verb>", parser_class=_Parser)
    sub.required = True
    for verb, verb_help in verbs.items():
        build_verb(sub.add_parser(verb, help=verb_help, description=verb_help), verb)


def _compute_verb(p: argparse.ArgumentParser, verb: str) -> None:
    """The options of one compute verb, as az ml names them."""
    if verb != "list":
        p.add_argument("--name", "-n", required=verb not in ("create",), help="Name of the compute.")
    if verb == "create":
        p.add_argument("--file", "-f", help="YAML file describing the compute.")
        p.add_argument("--type", "-t", help="amlcompute or computeinstance (without --file).")
        p.add_argument("--size", help="VM size, e.g. STANDARD_DS3_V2.")
    if verb in ("create", "update"):
        p.add_argument("--min-instances", type=int, help="A cluster's least nodes.")
        p.add_argument("--max-instances", type=int, help="A cluster's most nodes.")
        p.add_argument("--idle-time-before-scale-down", type=int, metavar="SECONDS",
                       help="Seconds a cluster's idle node waits before it is released.")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                       help="Override a field, e.g. --set tier=low_priority (repeatable).")
    if verb == "list":
        p.add_argument("--type", "-t", help="Only computes of this type (amlcompute, computeinstance, ...).")
    if verb == "delete":
        p.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation.")
        p.add_argument("--action", choices=("Delete", "Detach"), default="Delete",
                       help="Delete the underlying resource, or only detach it (default: Delete).")
    if verb not in ("show", "list"):
        p.add_argument("--no-wait", action="store_true", help="Do not wait for the operation to finish.")
    _workspace_options(p)


def _endpoint_verb(p: argparse.ArgumentParser, group: str, verb: str) -> None:
    """The options of one endpoint or deployment verb, as az ml names them."""
    deployment = group.endswith("deployment")
    if verb in ("create", "update"):
        p.add_argument("--file", "-f", required=deployment and verb == "create", help="YAML file describing it.")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                       help="Override a field, e.g. --set instance_count=2 (repeatable).")
        p.add_argument("--no-wait", action="store_true", help="Do not wait for the operation to finish.")
    if verb != "list" or deployment:
        required = verb not in ("create", "update")
        if deployment:
            if verb != "list":
                p.add_argument("--name", "-n", required=required, help="Name of the deployment.")
            p.add_argument("--endpoint-name", "-e", required=required, help="Name of the endpoint.")
        else:
            p.add_argument("--name", "-n", required=required, help="Name of the endpoint.")
    if group == "online-endpoint" and verb == "update":
        p.add_argument("--traffic", "-t", help='Live traffic by deployment, e.g. "blue=90 green=10".')
        p.add_argument("--mirror-traffic", help='Mirrored traffic by deployment, e.g. "green=10".')
    elif group == "online-deployment" and verb in ("create", "update"):
        p.add_argument("--all-traffic", action="store_true", help="Send all of the endpoint's traffic here.")
    elif group == "batch-deployment" and verb in ("create", "update"):
        p.add_argument("--set-default", action="store_true", help="Make it the endpoint's default deployment.")
    elif verb == "delete":
        p.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation.")
        p.add_argument("--no-wait", action="store_true", help="Do not wait for the deletion to finish.")
    elif verb == "show" and not deployment:
        _export_arm(p, "endpoint with its deployments")
    elif verb == "invoke" and group == "online-endpoint":
        p.add_argument("--request-file", "-r", required=True, help="JSON file of the request.")
        p.add_argument("--deployment-name", "-d", help="Send the request to this deployment.")
    elif verb == "invoke":
        p.add_argument("--input", "-i", required=True, help="The data to score: a local path, a datastore URI, "
                                                            "azureml:<data>:<version> or a URL.")
        p.add_argument("--input-type", choices=("uri_folder", "uri_file"), default="uri_folder",
                       help="Whether --input is a folder (default) or a file.")
        p.add_argument("--deployment-name", "-d", help="Run this deployment instead of the default one.")
    elif verb == "regenerate-keys":
        p.add_argument("--key-type", choices=("primary", "secondary"), default="primary",
                       help="The key to replace (default: primary).")
        p.add_argument("--no-wait", action="store_true", help="Do not wait for the operation to finish.")
    elif verb == "get-logs":
        p.add_argument("--lines", "-l", type=int, default=100, help="The last this many lines (default: 100).")
        p.add_argument("--container", "-c", choices=("inference-server", "storage-initializer"),
                       default="inference-server", help="Which container's log (default: inference-server).")
    _workspace_options(p)


def _schedule_verb(p: argparse.ArgumentParser, verb: str) -> None:
    if verb == "create":
        p.add_argument("--file", "-f", required=True, help="YAML file describing the schedule.")
        p.add_argument("--name", "-n", help="Override the name in the file.")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                       help="Override a field, e.g. --set trigger.time_zone=UTC (repeatable).")
    elif verb == "list":
        p.add_argument("--disabled-only", action="store_true", help="List disabled schedules only.")
        p.add_argument("--all", action="store_true", help="List enabled and disabled schedules.")
    elif verb != "run":
        p.add_argument("--name", "-n", required=True, help="Name of the schedule.")
    if verb in ("create", "enable", "disable", "delete"):
        p.add_argument("--no-wait", action="store_true", help="Do not wait for the operation to finish.")
    if verb == "delete":
        p.add_argument("--yes", "-y", action="store_true", help="Do not ask for confirmation.")
    elif verb == "show":
        p.add_argument("--next", type=int, default=5, metavar="N", help="Show the next N firings (default: 5).")
    elif verb == "trigger":
        p.add_argument("--schedule-time", help="The time the firing stands for (ISO 8601; default: now).")
    _workspace_options(p)


def _export_arm(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--export-arm", metavar="FILE",
                   help=f"Write the ARM deployment template of the {what} and the assets it uses to FILE (- for "
                        "standard output) instead of showing it.")


_VERB_HELP = {
    "create": "Create or update a {group} from a YAML file.",
    "show": "Show a {group}.",
    "list": "List {group} resources.",
    "archive": "Archive a {group} (hidden from default lists).",
    "restore": "Restore an archived {group}.",
    "delete": "Delete a {group}.",
    "share": "Copy a {group} of the workspace, with its files, into a registry.",
}


_JOB_VERBS = {
    "create": "Submit a job from a YAML file.",
    "show": "Show a job and its status (a sweep: with its trials).",
    "list": "List jobs, newest first.",
    "stream": "Follow a job's log (a sweep: its trials) until it ends; exit 0 only if it completed.",
    "cancel": "Cancel a job.",
    "download": "Download a finished job's artifacts or outputs.",
    "archive": "Archive a job (hidden from default lists).",
    "restore": "Restore an archived job.",
    "validate": "Check a job YAML file without submitting it.",
    "plot": "Draw a sweep: metric per trial, best so far, parameters in parallel coordinates.",
}


_TRANSFER_VERBS = {
    "export": "Write every resource of the workspace as YAML under a folder (git-friendly, no secrets).",
    "import": "Create what an exported folder holds that the workspace lacks (idempotent; conflicts are named).",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        from . import commands  # import-time budget: `azml --help` loads no client, schema or YAML
        if getattr(args, "export_arm", None):  # `job|online-endpoint|batch-endpoint show --export-arm FILE`
            from .transfer import write_arm  # import budget: as above
            return write_arm(args, args.group)
        if args.group in ("server", "job", "studio"):
            return getattr(commands, f"run_{args.group}")(args)
        if args.group == "schedule":
            from .schedules import run_schedule  # import-time budget: as above
            return run_schedule(args)
        if args.group == "schema":
            from .transfer import run_schema  # import budget: as above
            return run_schema(args)
        if args.group == "workspace" and args.verb in _TRANSFER_VERBS:
            from .transfer import run_transfer  # import budget: as above
            return run_transfer(args)
        if args.group in ENDPOINT_GROUPS:
            from .endpoints import run_endpoint  # import-time budget: as above
            return run_endpoint(args)
        if args.group == "compute":
            from .compute import run_compute  # import-time budget: as above
            return run_compute(args)
        if args.group in RESOURCE_GROUPS:
            from .resources import run_resource  # import-time budget: as above
            return run_resource(args)
        return commands.run(args, ASSET_GROUPS[args.group])
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `azml job list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 0
    except Exception as exc:  # one clear line; the traceback only when asked for
        if getattr(args, "debug", False):
            raise
        from .commands import describe_error  # import-time budget, as above
        sys.stderr.write(describe_error(exc) + "\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
