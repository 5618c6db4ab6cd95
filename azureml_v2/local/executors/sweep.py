"""The local sweep controller: runs one sweep job of a local workspace as trial command jobs on this machine.

    python -m azureml_v2.local.executors.sweep --home H --workspace WS --job NAME

Core starts it, detached, when a sweep job is created (and supervision again when it finds it dead: it resumes). It
marks the sweep Running and creates trials ``<sweep>_<n>`` (n = 0, 1, ... in order, never skipped) through core's
job creation, so the command runner runs each; at most ``maxConcurrentTrials`` run at a time (default:
the number of CPUs), up to ``maxTotalTrials`` (default 1000, as Azure ML; at most the grid's size). Every POLL
seconds, and as soon as a trial's runner exits, it reads the trials' statuses and primary-metric histories, cancels
the trials the early termination policy stops, starts the next trials, and records ``best_child_run_id``, ``score``
and ``azureml.sweep.summary`` on the sweep. The sweep ends Completed when a trial Completed, Failed when none did (the
error quotes the first trial's), Canceled on a cancel or when ``limits.timeout`` passes (as Azure ML: the job is
canceled with its running trials).

All state is in the store: the trials are child jobs whose properties hold their number and parameters, so a new
controller rebuilds the sampler from them, adopts the trials still running, reruns those whose runner died and goes
on with the next number: no trial is created twice and none is lost. An unseeded random or bayesian sweep gets a
random seed when its controller first starts it, kept in its ``azureml.sweep.seed`` property, so two unseeded sweeps
differ while a resumed one continues its sequence.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import sys
import time
from datetime import datetime

from ..._contract import (BEST_CHILD, EARLY_TERMINATED, MAX_TRIALS, PARENT_JOB_PROPERTY, SCORE,
                          SWEEP_SEED, SWEEP_SUMMARY, TERMINAL_STATUSES, TRIAL_PARAMS_PROPERTY, TRIAL_PROPERTY,
                          Placeholder, seconds_from_iso, substitute)
from ..core.executors import executor_main
from ..core.metrics import metrics
from ..core.workspace import Page
from .early_termination import should_stop
from .parents import POLL, Lost, ParentExecutor, Stop
from .sampling import TrialSampler


class SweepError(Stop):
    """The sweep cannot go on; the message is its error, for its user."""


class Controller(ParentExecutor):
    """Runs sweep `name` of workspace `ws` in the local workspace at `home`."""

    kind, role = "sweep", "controller"

    def __init__(self, home: str | os.PathLike, ws: str, name: str):
        super().__init__(home, ws, name)
        objective = self.doc["objective"]
        self.metric, self.goal = objective["primaryMetric"], objective["goal"]
        self.trials: dict[int, dict] = {}  # n -> job record
        self.scores: dict[int, list[float]] = {}  # n -> the primary metric's values, in logging order
        self.final: set[int] = set()  # trials whose metric history is complete
        self.stopped: set[int] = set()  # trials the early termination policy canceled
        self._results: dict = {}

    # -- the run

    def _work(self) -> tuple[str, str | None]:
        try:
            sampler = TrialSampler(self.doc["searchSpace"], self._sampling(), self.goal)
        except ValueError as exc:  # ValidationError: a search space no sampler can use
            raise SweepError(f"the search space cannot be sampled: {exc}") from None
        limits = self.doc.get("limits") or {}
        total = limits.get("maxTotalTrials") or MAX_TRIALS
        if sampler.size() is not None:
            total = min(total, sampler.size())
        concurrency = limits.get("maxConcurrentTrials") or min(total, os.cpu_count() or 1)
        timeout = seconds_from_iso(limits.get("timeout"))
        deadline = None if timeout is None else self._started() + timeout
        self._resume()
        next_n = max(self.trials, default=-1) + 1
        while True:
            status = self._status()
            if status in TERMINAL_STATUSES:  # ended elsewhere (a runner judged dead): its trials end too
                self._cancel_all()
                raise Lost()
            if status == "CancelRequested":
                self._cancel_all()
                return "Canceled", None
            if deadline is not None and time.time() >= deadline:
                self.log(f"limits.timeout of {timeout:g} s reached: canceling the running trials")
                self._cancel_all()
                return "Canceled", (f"the sweep ran longer than its limits.timeout of {timeout:g} s and was canceled "
                                    f"with its running trials ({self._count('Completed')} trial(s) completed)")
            self._refresh()
            self._terminate_early()
            running = [n for n, t in self.trials.items() if t["status"] not in TERMINAL_STATUSES]
            while len(running) < concurrency and next_n < total:
                params = sampler.params(next_n, self._history())
                if params is None:  # the grid is exhausted
                    total = next_n
                    break
                self._create(next_n, params)
                running.append(next_n)
                next_n += 1
            self._report()
            if not running and next_n >= total:
                return self._outcome()
            self.exits.nap(POLL)

    def _sampling(self) -> dict:
        """The sampling algorithm with its seed: an unseeded one gets a random seed once, kept on the sweep."""
        sampling = self.doc["samplingAlgorithm"]
        if sampling.get("seed") is not None or str(sampling.get("samplingAlgorithmType")).lower() == "grid":
            return sampling
        seed = json.loads(self.store.get_job(self.ws, self.name)["results"] or "{}").get(SWEEP_SEED)
        if seed is None:  # kept before the first trial is created: a resumed sweep reads it back
            seed = str(secrets.randbits(31))
            self.store.set_results(self.ws, self.name, {SWEEP_SEED: seed})
            self.log(f"unseeded sampling: seed {seed}")
        return {**sampling, "seed": int(seed)}

    def _outcome(self) -> tuple[str, str | None]:
        if self._count("Completed"):
            return "Completed", None
        if not self.trials:
            return "Failed", "the sweep has no trial to run"
        first = self.trials[min(self.trials)]
        return "Failed", (f"no trial completed; the first, {first['name']}, ended {first['status']}: "
                          f"{first['error'] or 'no error recorded'}")

    # -- trials

    def _create(self, n: int, params: dict) -> None:
        """Create trial n (a command job), which starts its runner."""
        trial = self.doc["trial"]
        name = f"{self.name}_{n}"
        props = {
            "jobType": "Command", "command": self._command(trial["command"], params),
            "codeId": trial.get("codeId"), "environmentId": trial.get("environmentId"),
            "distribution": trial.get("distribution"), "resources": trial.get("resources"),
            "environmentVariables": trial.get("environmentVariables"),
            "inputs": self.doc.get("inputs"), "outputs": self.doc.get("outputs"),
            "computeId": self.doc.get("computeId"), "experimentName": self.doc.get("experimentName"),
            "displayName": name,
            "properties": {PARENT_JOB_PROPERTY: self.name, TRIAL_PROPERTY: str(n),
                           TRIAL_PARAMS_PROPERTY: json.dumps(params, sort_keys=True)},
        }
        trial_timeout = (self.doc.get("limits") or {}).get("trialTimeout")
        if trial_timeout:
            props["limits"] = {"jobLimitsType": "Command", "timeout": trial_timeout}
        record, created = self.jobs.create(self.ws, name, {k: v for k, v in props.items() if v is not None})
        self.trials[n] = record
        self.log(f"trial {name} {'created' if created else 'exists'}: {json.dumps(params, sort_keys=True)}")

    def _command(self, command: str, params: dict) -> str:
        """The trial's command with ${{search_space.x}} replaced (the runner fills ${{inputs.x}} and the rest)."""
        def value(p: Placeholder) -> str:
            if p.root != "search_space":
                return p.text
            if p.name is None:  # `${{search_space}}`, `${{search_space.a.b}}`
                raise SweepError(f"the trial command uses {p.text}, which names no parameter: expected "
                                 "${{search_space.<name>}}")
            if p.name not in params:
                raise SweepError(f"the trial command uses ${{{{search_space.{p.name}}}}}, but the search space has no "
                                 f"{p.name!r} (it has {', '.join(sorted(params)) or 'nothing'})")
            item = params[p.name]
            return item if isinstance(item, str) else json.dumps(item)

        return substitute(command, value, optional_blocks=False)

    def _children(self):
        """(n, record) of each trial of the sweep, by number."""
        records, _ = self.store.list_jobs(self.ws, Page(100 * MAX_TRIALS, ascending=True), "All", parent=self.name)
        for record in records:
            n = (record["doc"].get("properties") or {}).get(TRIAL_PROPERTY, "")
            if n.isdigit() and record["name"] == f"{self.name}_{n}":  # not a child someone else made
                yield int(n), record

    def _refresh(self) -> None:
        """Read the trials and the primary metric of those not final yet."""
        for n, record in self._children():
            if record["status"] not in TERMINAL_STATUSES:
                record = self.jobs.fail_if_runner_died(record)
            self.trials[n] = record
            if n in self.final:
                continue
            points = metrics(self.store.home, self.ws, record["name"], self.metric).get(self.metric, [])
            self.scores[n] = [v for _, v, _ in points if not math.isnan(v)]
            if record["status"] in TERMINAL_STATUSES:
                self.final.add(n)
            if EARLY_TERMINATED in json.loads(record["results"] or "{}"):
                self.stopped.add(n)

    def _resume(self) -> None:
        """Adopt the trials left by an earlier controller: rerun those whose runner died or never started."""
        for _, record in self._children():
            if record["status"] not in TERMINAL_STATUSES and self.jobs.take_over(record, self.pid, rerun=True):
                self.log(f"trial {record['name']}: its runner is gone; running it again")
                self.jobs.start(record)
        self._refresh()

    def _history(self) -> list[tuple[int, dict, float | None]]:
        """(n, params, final metric) of the finished trials, for bayesian sampling (None: failed, worst); a trial
        the policy stopped counts with its last value."""
        return [(n, self._params(t), self._score(n) if t["status"] == "Completed" or n in self.stopped else None)
                for n, t in sorted(self.trials.items()) if t["status"] in TERMINAL_STATUSES]

    def _score(self, n: int) -> float | None:
        """A trial's metric: the last value it logged (Azure ML's final score)."""
        values = self.scores.get(n)
        return values[-1] if values else None

    @staticmethod
    def _params(record: dict) -> dict:
        return json.loads(record["doc"]["properties"][TRIAL_PARAMS_PROPERTY])

    def _terminate_early(self) -> None:
        policy = self.doc.get("earlyTermination")
        if not policy:
            return
        finished = {n for n, t in self.trials.items() if t["status"] in TERMINAL_STATUSES}
        reports = {n: values for n, values in self.scores.items() if values}
        for n in sorted(should_stop(policy, self.goal, reports, finished) - finished - self.stopped):
            name = self.trials[n]["name"]
            self.store.set_results(self.ws, name, {EARLY_TERMINATED: "true"})
            self.store.request_cancel(self.ws, name)
            self.stopped.add(n)
            self.log(f"trial {name} stopped by the {policy.get('policyType')} policy after "
                     f"{len(reports[n])} report(s), last {reports[n][-1]}")

    def _cancel_all(self) -> None:
        super()._cancel_all()
        self._report()

    def _records(self):
        return self.trials.values()

    # -- the sweep's own record

    def _started(self) -> float:
        """When the sweep started running (unix seconds): its timeout counts from there, across restarts."""
        started = self.store.get_job(self.ws, self.name)["started_at"]
        return datetime.fromisoformat(started).timestamp() if started else time.time()

    def _count(self, status: str) -> int:
        return sum(t["status"] == status for t in self.trials.values())

    def _report(self) -> None:
        """Record the best trial and the summary on the sweep, when they changed."""
        sign = -1 if self.goal.lower() == "maximize" else 1
        scored = [(sign * s, n) for n, t in self.trials.items()
                  if t["status"] == "Completed" and (s := self._score(n)) is not None]
        counts: dict[str, int] = {}
        for t in self.trials.values():
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        summary = {"primary_metric": self.metric, "goal": self.goal, "trials": len(self.trials),
                   "status_counts": dict(sorted(counts.items())), "early_terminated": sorted(self.stopped)}
        results = {}
        if scored:
            _, best = min(scored)
            summary.update(best_trial=best, best_params=self._params(self.trials[best]), best_score=self._score(best))
            results = {BEST_CHILD: self.trials[best]["name"], SCORE: repr(self._score(best))}
        results[SWEEP_SUMMARY] = json.dumps(summary, sort_keys=True)
        if results != self._results:
            self.store.set_results(self.ws, self.name, results)
            self._results = results


def main(argv: list[str] | None = None) -> int:
    return executor_main(Controller, "azureml_v2.local.executors.sweep", __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
