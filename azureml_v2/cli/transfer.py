"""`azml workspace export|import`: a workspace as a tree of YAML files, and back; `--export-arm`: ARM templates;
`azml schema export`: JSON Schemas of the YAML kinds."""
from __future__ import annotations

import json
import sys

from .._yaml.jsonschema import export_schemas
from ..operations.arm_template import endpoint_template, job_template
from ..operations.export import export_workspace, import_workspace
from .commands import client_for


def run_transfer(args) -> int:
    client = client_for(args)
    if args.verb == "export":
        written = export_workspace(client, args.path)
        sys.stdout.write(f"wrote {len(written)} files to {args.path}\n")
        return 0
    report = import_workspace(client, args.path, jobs=args.include_jobs)
    sys.stdout.write(f"created {len(report.created)}, unchanged {len(report.unchanged)}")
    if report.skipped:
        sys.stdout.write(f", {len(report.skipped)} jobs left out (--include-jobs creates and runs them)")
    sys.stdout.write("\n")
    for shown in report.created:
        sys.stdout.write(f"  created {shown}\n")
    return 0


def write_arm(args, what: str) -> int:
    """`azml job|online-endpoint|batch-endpoint show --export-arm FILE`."""
    client = client_for(args)
    if what == "job":
        template = job_template(client, args.name)
    else:
        template = endpoint_template(client, args.name, batch=what == "batch-endpoint")
    text = json.dumps(template, indent=2) + "\n"
    if args.export_arm == "-":
        sys.stdout.write(text)
    else:
        with open(args.export_arm, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


def run_schema(args) -> int:
    written = export_schemas(args.path)
    sys.stdout.write(f"wrote {len(written)} schemas to {args.path}: in VS Code, map a kind's files to its schema "
                     "(yaml.schemas), or name it in a file's $schema\n")
    return 0
