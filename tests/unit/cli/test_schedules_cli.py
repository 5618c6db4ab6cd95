"""`azml schedule`, run in-process on a local workspace: create from a file, list, show (next firings and past
ones), trigger, disable, enable, delete, and the one-line error of a bad file."""
from __future__ import annotations

import textwrap

import pytest
import yaml


SCHEDULE = """
    name: hourly
    trigger:
      type: cron
      expression: "5 * * * *"
      time_zone: {zone}
    create_job:
      type: command
      command: echo hi
      environment:
        image: python:3.11-slim
    """


def test_create_list_show_trigger_disable_delete(azml, tmp_path):
    path = tmp_path / "schedule.yml"
    path.write_text(textwrap.dedent(SCHEDULE.format(zone="Tokyo Standard Time")))
    azml("schedule", "create", "-f", path)
    out, _ = azml("schedule", "list", "-o", "table")
    assert out.splitlines()[2].split() == ["hourly", "True", "Succeeded"]

    job = yaml.safe_load(azml("schedule", "trigger", "-n", "hourly", "-o", "yaml")[0])["job_name"]
    shown = yaml.safe_load(azml("schedule", "show", "-n", "hourly", "-o", "yaml", "--next", "2")[0])
    assert [t[14:] for t in shown["next_firings"]] == ["05:00+00:00", "05:00+00:00"]  # 5 past each hour
    assert shown["firings"] == [{"time": shown["firings"][0]["time"], "status": "Fired", "job_name": job,
                                 "manual": True}]
    assert yaml.safe_load(azml("job", "show", "-n", job, "-o", "yaml")[0])["command"] == "echo hi"

    azml("schedule", "disable", "-n", "hourly")
    assert azml("schedule", "list", "-o", "json")[0].strip() == "[]"
    assert "hourly" in azml("schedule", "list", "--all", "-o", "table")[0]
    assert yaml.safe_load(azml("schedule", "show", "-n", "hourly", "-o", "yaml")[0])["next_firings"] == []
    azml("schedule", "enable", "-n", "hourly")
    azml("schedule", "delete", "-n", "hourly", "--yes")
    _, err = azml("schedule", "show", "-n", "hourly", rc=1)
    assert "hourly" in err and "not found" in err


def test_a_bad_time_zone_is_one_located_line(azml, tmp_path):
    path = tmp_path / "schedule.yml"
    path.write_text(textwrap.dedent(SCHEDULE.format(zone="Asia/Tokyo")))
    _, err = azml("schedule", "create", "-f", path, rc=1)
    assert err == (f"{path}:6:3 trigger.time_zone: 'Asia/Tokyo' is an IANA name; Azure ML takes Windows time zone "
                   "names: 'Tokyo Standard Time'\n")
