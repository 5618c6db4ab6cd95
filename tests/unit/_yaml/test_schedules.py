"""Schedule files: the corpus's data import schedules and job schedules (a job file with updates, a job written
inline, an existing job) load, dump to YAML that loads back equal, and give spec-valid REST bodies, or say why the
2024-04-01 API cannot take them; bad triggers are one located error with a hint."""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from azureml_v2 import NotSupportedError, ValidationError, load_schedule, workspace_scope
from azureml_v2.entities import CommandJob, ImportDataSchedule, JobSchedule, Schedule
from conftest import CORPUS

SCOPE = workspace_scope("5c3f7e1a-2b9d-4c8e-a6f0-8d1b3e5a7c92", "rg", "ws")
DATA_IMPORT_SCHEDULES = sorted((CORPUS / "cli" / "assets" / "data").glob("*schedule*")) if CORPUS.exists() else []


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.fixture
def jobs_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hi')\n")
    write(tmp_path, "job.yml", """
        type: command
        code: src
        command: python train.py --lr ${{inputs.lr}}
        environment: azureml:sklearn-env:3
        compute: azureml:cpu-cluster
        inputs:
          lr: 0.1
        """)
    return tmp_path


def _round_trip(schedule, folder: Path) -> str:
    out = folder / "elsewhere" / "schedule.yml"
    schedule.dump(out)
    text = out.read_text()
    assert load_schedule(out) == schedule, text
    schedule.dump(out)
    assert out.read_text() == text  # a dump is deterministic
    return text


@pytest.mark.parametrize("path", DATA_IMPORT_SCHEDULES, ids=lambda p: p.name)
def test_corpus_data_import_schedules_round_trip_and_say_why_the_api_cannot_take_them(path, tmp_path):
    schedule = load_schedule(path)
    assert isinstance(schedule, ImportDataSchedule)
    assert schedule.trigger.expression == "15 10 * * 1" and schedule.trigger.time_zone == "Pacific Standard Time"
    assert schedule.import_data.source.type == "database"
    text = _round_trip(schedule, tmp_path)
    assert "import_data:" in text and "connection: azureml:" in text
    with pytest.raises(NotSupportedError) as info:
        schedule.to_rest(scope=SCOPE)
    (problem,) = info.value.problems
    assert problem.source == str(path) and problem.path == "import_data"
    assert "2024-04-01" in problem.message and "ImportData" in problem.message


def test_a_job_file_with_updates_loads_round_trips_and_gives_a_spec_valid_body(jobs_folder, rest_validate):
    path = write(jobs_folder, "schedule.yml", """
        name: nightly
        display_name: Nightly training
        trigger:
          type: recurrence
          frequency: week
          interval: 1
          schedule:
            hours: [4, 16]
            minutes: 30
            week_days: [monday, friday]
          start_time: "2024-05-01T00:00:00"
          time_zone: W. Europe Standard Time
        create_job:
          job: ./job.yml
          inputs:
            lr: 0.5
        """)
    schedule = load_schedule(path)
    assert isinstance(schedule, JobSchedule) and isinstance(schedule.create_job, CommandJob)
    assert schedule.create_job.inputs["lr"] == 0.5  # the update, over the file's 0.1
    text = _round_trip(schedule, jobs_folder)
    assert "code: ../src" in text  # the job's code, relative to where the schedule was written
    body = schedule.to_rest(scope=SCOPE)
    assert body["properties"]["trigger"] == {
        "triggerType": "Recurrence", "startTime": "2024-05-01T00:00:00", "timeZone": "W. Europe Standard Time",
        "frequency": "Week", "interval": 1,
        "schedule": {"hours": [4, 16], "minutes": [30], "weekDays": ["Monday", "Friday"]}}
    definition = body["properties"]["action"]["jobDefinition"]
    assert definition["jobType"] == "Command" and definition["inputs"]["lr"]["value"] == "0.5"
    definition["codeId"] = SCOPE + "/codes/abc/versions/1"  # what the client uploads before sending
    assert rest_validate(body, "ScheduleResource") == []
    back = Schedule._from_rest({"name": "nightly", **body})
    assert isinstance(back, JobSchedule) and back.trigger.schedule.week_days == ["monday", "friday"]


def test_an_inline_job_and_an_existing_job_give_spec_valid_bodies(jobs_folder, rest_validate):
    inline = load_schedule(io.StringIO(textwrap.dedent("""
        name: every_minute
        trigger:
          type: cron
          expression: "*/1 * * * *"
          time_zone: Pacific Standard Time
        create_job:
          type: command
          command: echo ${{inputs.when}}
          environment: azureml:sklearn-env:3
          inputs:
            when: ${{creation_context.trigger_time}}
        """)))
    existing = load_schedule({"name": "copy", "trigger": {"type": "cron", "expression": "0 6 * * 1-5"},
                              "create_job": "azureml:my_pipeline_job"})
    for schedule in (inline, existing):
        _round_trip(schedule, jobs_folder)
        assert rest_validate(schedule.to_rest(scope=SCOPE), "ScheduleResource") == []
    definition = existing.to_rest(scope=SCOPE)["properties"]["action"]["jobDefinition"]
    assert definition == {"jobType": "Pipeline", "sourceJobId": SCOPE + "/jobs/my_pipeline_job"}
    assert Schedule._from_rest({"name": "copy", **existing.to_rest(scope=SCOPE)}).create_job == \
        f"azureml:{SCOPE}/jobs/my_pipeline_job"


@pytest.mark.parametrize("trigger, expected", [
    ({"type": "cron", "expression": "* * * *"}, "trigger.expression: invalid cron expression '* * * *': expected "
                                                "five fields"),
    ({"type": "cron", "expression": "0 9 * * *", "time_zone": "America/Los_Angeles"},
     "trigger.time_zone: 'America/Los_Angeles' is an IANA name; Azure ML takes Windows time zone names: "
     "'Pacific Standard Time'"),
    ({"type": "cron", "expression": "0 9 * * *", "time_zone": "pacific standard time"},
     "trigger.time_zone: unknown time zone 'pacific standard time' (did you mean Pacific Standard Time?)"),
    ({"type": "recurrence", "frequency": "day", "interval": 1, "schedule": {"hours": 4, "minutes": 0,
                                                                           "week_days": "monday"}},
     "trigger.schedule: week_days applies to a week recurrence only"),
    ({"type": "recurrence", "frequency": "minute", "interval": 0}, "trigger.interval: must be at least 1"),
    ({"type": "recurrence", "frequency": "hour", "interval": 1, "schedule": {"hours": 25, "minutes": 0}},
     "trigger.schedule.hours: 25 is out of range: expected 0 to 23"),
    ({"type": "cron", "expression": "0 9 * * *", "start_time": "2024-05-02T00:00:00",
      "end_time": "2024-05-01T00:00:00"}, "trigger.end_time: the end time 2024-05-01T00:00:00 is not after"),
    ({"type": "cron", "expression": "0 9 * * *", "start_time": "next tuesday"},
     "trigger.start_time: invalid time 'next tuesday'"),
    ({"type": "hourly", "expression": "0 9 * * *"}, "trigger.type: invalid value 'hourly': expected one of cron, "
                                                    "recurrence"),
])
def test_a_bad_trigger_is_one_located_line_with_a_hint(tmp_path, trigger, expected):
    path = tmp_path / "schedule.yml"
    import yaml
    path.write_text(yaml.safe_dump({"name": "s", "trigger": trigger, "create_job": "azureml:j"}, sort_keys=False))
    with pytest.raises(ValidationError) as info:
        load_schedule(path)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{path}:") and problem.line is not None
    assert expected in str(problem), str(problem)


def test_a_schedule_without_an_action_or_with_a_missing_job_file_says_so(tmp_path):
    with pytest.raises(ValidationError, match="a schedule needs an action: create_job"):
        load_schedule({"name": "s", "trigger": {"type": "cron", "expression": "0 9 * * *"}})
    with pytest.raises(ValidationError, match=r"create_job: no such job file: .*nowhere\.yml"):
        load_schedule({"name": "s", "trigger": {"type": "cron", "expression": "0 9 * * *"},
                       "create_job": "nowhere.yml"})
    with pytest.raises(NotSupportedError, match="create_monitor: not supported yet"):
        load_schedule({"name": "s", "trigger": {"type": "cron", "expression": "0 9 * * *"}, "create_monitor": {}})
