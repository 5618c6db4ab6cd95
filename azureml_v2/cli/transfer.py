"""`azml workspace export|import`: a workspace as a tree of YAML files, and back."""
from __future__ import annotations

import sys

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
