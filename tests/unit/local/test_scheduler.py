"""The local workspace's scheduler, on a clock the test moves: it fires on time, once per firing whatever process
or crash, records each firing with the job it created, and says (without running them) which firings it missed
while no scheduler ran. Jobs are recorded, not started (nothing runs under tests/unit)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from azureml_v2 import load_schedule
from azureml_v2._contract import SCHEDULE_PROPERTY, SCHEDULE_TIME_PROPERTY
from azureml_v2.local.core.schedules import Scheduler, moment
from azureml_v2.local.storage.schedules import ScheduleStore
from support.local import WS, Client, local_client

EVERY_MINUTE = {
    "name": "every_minute",
    "trigger": {"type": "cron", "expression": "*/1 * * * *"},
    "create_job": {"type": "command", "command": "echo ${{inputs.when}}", "environment": {"image": "python:3.11-slim"},
                   "compute": "local", "inputs": {"when": "${{creation_context.trigger_time}}"}},
}


class Clock:
    """What time it is for a scheduler: the moment `app`'s schedules were last checked (their creation; real time
    when it has none), then wherever the test moves it. Starting from their creation, no real time passes between
    it and the test's first tick: a minute boundary in that gap would be one more firing."""

    def __init__(self, app=None):
        checked = [moment(s["checked_at"]) for s in ScheduleStore(app.store).enabled()] if app is not None else []
        self.now = max(checked, default=datetime.now(timezone.utc))

    def __call__(self) -> datetime:
        return self.now

    def run(self, scheduler: Scheduler, minutes: float, step: float = 1.0) -> None:
        """Tick `scheduler` once every `step` seconds of `minutes`."""
        end = self.now + timedelta(minutes=minutes)
        while self.now < end:
            self.now = min(end, self.now + timedelta(seconds=step))
            scheduler.tick()


@pytest.fixture
def ml_client(tmp_path):
    client = local_client(tmp_path / "home", run_jobs=False)
    yield client
    client.close()


@pytest.fixture
def app(ml_client):
    return ml_client.sent.app


def create(ml_client, data=EVERY_MINUTE):
    return ml_client.schedules.begin_create_or_update(load_schedule(data)).result()


def scheduler_of(app, clock) -> Scheduler:
    scheduler = Scheduler(app.store, app.jobs, clock=clock)
    scheduler.start()
    return scheduler


def test_a_schedule_every_minute_fires_3_times_in_3_minutes_and_each_job_exists(ml_client, app):
    create(ml_client)
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    clock.run(scheduler, minutes=3)  # 180 rounds, one a (pretend) second
    scheduler.stop()

    firings = ml_client.schedules.firings("every_minute")
    assert [f.status for f in firings] == ["Fired"] * 3
    due = sorted(datetime.fromisoformat(f.time) for f in firings)
    assert all(t.second == 0 and t.microsecond == 0 for t in due)
    assert [b - a for a, b in zip(due, due[1:])] == [timedelta(minutes=1)] * 2
    for firing in firings:
        job = ml_client.jobs.get(firing.job_name)
        assert job.properties[SCHEDULE_PROPERTY] == "every_minute"
        assert job.properties[SCHEDULE_TIME_PROPERTY].startswith(firing.time[:19])
        assert job.inputs["when"] == firing.time  # ${{creation_context.trigger_time}}
        assert job.command == "echo ${{inputs.when}}"


def test_every_minute_written_with_stars_only_is_taken_from_our_client_and_from_azure_ai_ml(ml_client, app):
    create(ml_client, {**EVERY_MINUTE, "trigger": {"type": "cron", "expression": "* * * * *"}})
    ((path, body),) = [put for put in ml_client.sent.puts() if "/schedules/" in put[0]]
    assert body["properties"]["trigger"]["expression"] == "*/1 * * * *"  # as the spec's pattern admits it
    as_sent_by_azure_ai_ml = {"properties": {**body["properties"],
                                             "trigger": {**body["properties"]["trigger"], "expression": "* * * * *"}}}
    assert Client(app).put("/schedules/stars", as_sent_by_azure_ai_ml).status in (200, 201)
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    clock.run(scheduler, minutes=2)
    scheduler.stop()
    assert [f.status for f in ml_client.schedules.firings("stars")] == ["Fired"] * 2


def test_firings_missed_while_no_scheduler_ran_are_recorded_not_run(ml_client, app):
    create(ml_client)
    clock = Clock(app)
    clock.now += timedelta(minutes=11)  # no scheduler for 11 minutes: 10 firings over a minute late, 1 on time
    scheduler = scheduler_of(app, clock)
    scheduler.stop()
    newest, *missed = ml_client.schedules.firings("every_minute")
    assert [f.status for f in missed] == ["Missed"] * 10 and all(f.job_name is None for f in missed)
    assert "no scheduler was running" in missed[0].error
    assert newest.status == "Fired" and [j.name for j in ml_client.jobs.list()] == [newest.job_name]


def test_start_says_what_was_missed(ml_client, app):
    create(ml_client)
    clock = Clock(app)
    clock.now += timedelta(minutes=6)
    scheduler = Scheduler(app.store, app.jobs, clock=clock)
    (line,) = scheduler.start()
    scheduler.stop()
    assert line.startswith("schedule 'every_minute' (workspace 'local') missed 5 firings while no scheduler ran")
    assert line.endswith("they are not run now")


def test_one_scheduler_per_home_and_the_next_takes_over_when_it_stops(ml_client, app):
    clock = Clock()
    first = scheduler_of(app, clock)
    second = Scheduler(app.store, app.jobs, clock=clock)
    with pytest.raises(ValueError, match=r"are fired by process \d+"):
        second.start()
    first.stop()
    create(ml_client)
    clock.now = Clock(app).now  # from the schedule's creation: a minute boundary before it is not one of its own
    clock.run(second, minutes=1)  # it asked to start: its rounds take the lock once it is free
    assert second.running
    second.stop()
    assert [f.status for f in ml_client.schedules.firings("every_minute")] == ["Fired"]


def test_a_firing_claimed_by_a_killed_scheduler_is_fired_once(ml_client, app, monkeypatch):
    create(ml_client)
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)

    def killed(*args, **kwargs):  # kill -9 between claiming the firing and creating its job
        raise SystemExit(137)

    monkeypatch.setattr(app.jobs, "create", killed)
    with pytest.raises(SystemExit):
        clock.run(scheduler, minutes=1)
    scheduler.stop()
    monkeypatch.undo()
    (firing,) = ml_client.schedules.firings("every_minute")
    assert firing.status == "Firing"

    again = scheduler_of(app, clock)  # the next scheduler settles it: the job is created once
    clock.run(again, minutes=0.2)
    again.stop()
    (firing,) = ml_client.schedules.firings("every_minute")
    assert firing.status == "Fired" and len(list(ml_client.jobs.list())) == 1


def test_a_firing_whose_job_was_recorded_before_the_kill_is_not_fired_again(ml_client, app, monkeypatch):
    create(ml_client)
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    store = scheduler.schedules

    def killed(*args, **kwargs):  # kill -9 after the job was recorded, before the firing was settled
        raise SystemExit(137)

    monkeypatch.setattr(store, "settle", killed)
    with pytest.raises(SystemExit):
        clock.run(scheduler, minutes=1)
    scheduler.stop()
    monkeypatch.undo()
    again = scheduler_of(app, clock)
    clock.run(again, minutes=0.5)
    again.stop()
    (firing,) = ml_client.schedules.firings("every_minute")
    assert firing.status == "Fired"
    assert [j.name for j in ml_client.jobs.list()] == [firing.job_name]


def test_two_schedulers_racing_claim_each_firing_once(ml_client, app):
    create(ml_client)
    clock = Clock(app)
    one, other = Scheduler(app.store, app.jobs, clock=clock), Scheduler(app.store, app.jobs, clock=clock)
    one._lock = other._lock = object()  # as if both held the lock (a lock file on a shared folder that lies)
    for _ in range(180):
        clock.now += timedelta(seconds=1)
        one.tick()
        other.tick()
    assert [f.status for f in ml_client.schedules.firings("every_minute")] == ["Fired"] * 3
    assert len(list(ml_client.jobs.list())) == 3


def test_a_disabled_schedule_does_not_fire_and_owes_nothing_once_enabled_again(ml_client, app):
    create(ml_client)
    ml_client.schedules.begin_disable("every_minute").result()
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    clock.run(scheduler, minutes=2, step=5)
    assert ml_client.schedules.firings("every_minute") == []
    ml_client.schedules.begin_enable("every_minute").result()
    clock.now = datetime.now(timezone.utc)  # the enabling PUT counted firings from the real now
    clock.run(scheduler, minutes=1, step=5)
    scheduler.stop()
    assert [f.status for f in ml_client.schedules.firings("every_minute")] == ["Fired"]


def test_trigger_fires_once_now_and_a_copy_of_an_existing_job_keeps_its_definition(ml_client, app):
    job = ml_client.jobs.create_or_update(load_schedule(EVERY_MINUTE).create_job, name="template")
    create(ml_client, {"name": "copy", "trigger": {"type": "recurrence", "frequency": "day", "interval": 1},
                       "create_job": "azureml:template"})
    fired = ml_client.schedules.trigger("copy")
    copied = ml_client.jobs.get(fired.job_name)
    assert fired.schedule_action_type == "CreateJob" and fired.job_name.startswith("copy-")
    assert copied.command == job.command and copied.properties[SCHEDULE_PROPERTY] == "copy"
    (firing,) = ml_client.schedules.firings("copy")
    assert firing.manual and firing.status == "Fired" and firing.job_name == fired.job_name


def test_a_firing_whose_job_is_refused_is_recorded_failed_with_why(ml_client, app):
    create(ml_client, {"name": "gone", "trigger": {"type": "cron", "expression": "*/1 * * * *"},
                       "create_job": "azureml:no_such_job"})
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    clock.run(scheduler, minutes=1, step=10)
    scheduler.stop()
    (firing,) = ml_client.schedules.firings("gone")
    assert firing.status == "Failed" and "no_such_job" in firing.error


def test_an_update_that_keeps_the_trigger_keeps_what_was_missed_and_a_new_trigger_owes_nothing(ml_client, app):
    create(ml_client)
    clock = Clock(app)
    clock.now += timedelta(minutes=6)  # no scheduler for 6 minutes, and meanwhile the description changed
    ml_client.schedules.begin_create_or_update(load_schedule({**EVERY_MINUTE, "description": "now described"})).result()
    scheduler = scheduler_of(app, clock)
    scheduler.stop()
    assert [f.status for f in ml_client.schedules.firings("every_minute")] == ["Fired"] + ["Missed"] * 5

    hourly = {**EVERY_MINUTE, "name": "hourly", "trigger": {"type": "cron", "expression": "0 * * * *"}}
    create(ml_client, hourly)
    clock.now += timedelta(hours=3)
    create(ml_client, {**hourly, "trigger": {"type": "cron", "expression": "30 * * * *"}})  # a new trigger
    clock.now = datetime.now(timezone.utc)  # what the new trigger's PUT counts from
    scheduler = scheduler_of(app, clock)
    scheduler.stop()
    assert ml_client.schedules.firings("hourly") == []


def _invoke_schedule(app, endpoint_id) -> object:
    return Client(app).put("/schedules/nightly_scoring", {"properties": {
        "trigger": {"triggerType": "Cron", "expression": "0 2 * * *"},
        "action": {"actionType": "InvokeBatchEndpoint", "endpointInvocationDefinition": {
            "endpoint": endpoint_id, "inputs": {"create_time": "${{creation_context.trigger_time}}"}}}}})


def test_a_batch_endpoint_schedule_names_its_endpoint_and_fails_a_firing_it_cannot_invoke(ml_client, app):
    from azureml_v2 import load_batch_endpoint

    bad = _invoke_schedule(app, "my-endpoint")
    assert bad.status == 400 and "endpointInvocationDefinition.endpoint: expected azureml:<a batch endpoint's ARM " \
        "id>" in bad.json["error"]["message"]
    endpoint = WS + "/batchEndpoints/scorer"
    assert _invoke_schedule(app, "azureml:" + endpoint).status == 201
    clock = Clock(app)
    scheduler = scheduler_of(app, clock)
    fired = scheduler.trigger("local", "nightly_scoring", clock.now)
    assert fired["job"].startswith("nightly_scoring-")
    ml_client.batch_endpoints.begin_create_or_update(load_batch_endpoint({"name": "scorer"})).result()
    scheduler.trigger("local", "nightly_scoring", clock.now)  # stored, but no host serves it (nothing runs here)
    scheduler.stop()
    reasons = [f.error for f in ml_client.schedules.firings("nightly_scoring")]
    assert any("batch endpoint 'scorer' not found" in r for r in reasons)
    assert any("batch endpoint 'scorer' is not served yet" in r for r in reasons)


def test_a_clock_set_back_after_running_ahead_fires_from_the_right_time_and_nothing_twice(ml_client, app):
    """A clock 10 minutes ahead, then set right: the schedule is not silent for 10 minutes, the firings missed while
    the clock was ahead fire when they are really due, and none fires twice. It is set right 3 s before a minute
    boundary, and the scheduler's next look is past it: that firing is not lost either."""
    create(ml_client)
    clock = Clock(app)
    start = clock.now
    scheduler = scheduler_of(app, clock)
    right = (start + timedelta(minutes=2)).replace(second=57, microsecond=0)
    right += timedelta(minutes=1) if right < start + timedelta(minutes=2) else timedelta(0)
    clock.run(scheduler, minutes=(right - start) / timedelta(minutes=1))
    clock.now = right + timedelta(minutes=10)  # the clock runs ahead: 9 firings missed, the 10th fired
    scheduler.tick()
    clock.now = right  # set right again
    clock.run(scheduler, minutes=11, step=5)
    scheduler.stop()
    due = int(clock.now.timestamp() // 60) - int(start.timestamp() // 60)  # the minute boundaries passed
    firings = ml_client.schedules.firings("every_minute")
    assert [f.status for f in firings] == ["Fired"] * due  # each once
    assert len({f.time for f in firings}) == due and len(list(ml_client.jobs.list())) == due
