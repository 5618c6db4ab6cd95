"""Command and sweep jobs, and the parts they share with components: resources, distribution,
identity, services, limits; each with its REST form (api-version 2024-04-01)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .._contract import iso_from_seconds, seconds_from_iso, substitute, to_arm
from ..exceptions import Problem, ValidationError
from ._base import Resource
from ._rest import compact, str_map
from .inputs import inputs_from_rest, inputs_to_rest, outputs_from_rest, outputs_to_rest
from .sweep import (EarlyTerminationPolicy, Objective, SamplingAlgorithm, SweepDistribution, SweepJobLimits,
                    sampling_from_rest, sampling_to_rest, search_value_from_rest, sweep_problems)


# -- resources -----------------------------------------------------------------------------
@dataclass(kw_only=True)
class JobResources:
    """Where and how big: node count, VM size, shared memory, extra docker arguments."""

    instance_count: int | None = None
    instance_type: str | None = None
    shm_size: str | None = None
    docker_args: str | None = None
    properties: dict[str, Any] | None = None


def resources_to_rest(r: JobResources | None) -> dict | None:
    if r is None:
        return None
    return compact({"instanceCount": r.instance_count, "instanceType": r.instance_type, "shmSize": r.shm_size,
                    "dockerArgs": r.docker_args, "properties": r.properties})


def resources_from_rest(body: dict | None) -> JobResources | None:
    if not body:
        return None
    return JobResources(instance_count=body.get("instanceCount"), instance_type=body.get("instanceType"),
                        shm_size=body.get("shmSize"), docker_args=body.get("dockerArgs"),
                        properties=body.get("properties") or None)


# -- distribution --------------------------------------------------------------------------
@dataclass(kw_only=True)
class PyTorchDistribution:
    """torch.distributed: one process per GPU usually (`process_count_per_instance`)."""

    type: ClassVar[str] = "pytorch"
    process_count_per_instance: int | None = None


@dataclass(kw_only=True)
class MpiDistribution:
    """MPI (Horovod, DeepSpeed): `process_count_per_instance` ranks on each node."""

    type: ClassVar[str] = "mpi"
    process_count_per_instance: int | None = None


@dataclass(kw_only=True)
class TensorFlowDistribution:
    """tf.distribute with TF_CONFIG: workers and parameter servers."""

    type: ClassVar[str] = "tensorflow"
    worker_count: int | None = None
    parameter_server_count: int | None = None


Distribution = PyTorchDistribution | MpiDistribution | TensorFlowDistribution


def distribution_to_rest(d: Distribution | None) -> dict | None:
    if d is None:
        return None
    if isinstance(d, TensorFlowDistribution):
        return compact({"distributionType": "TensorFlow", "workerCount": d.worker_count,
                        "parameterServerCount": d.parameter_server_count})
    kind = "PyTorch" if isinstance(d, PyTorchDistribution) else "Mpi"
    return compact({"distributionType": kind, "processCountPerInstance": d.process_count_per_instance})


def distribution_from_rest(body: dict | None) -> Distribution | None:
    if not body:
        return None
    kind = body.get("distributionType")
    if kind == "TensorFlow":
        return TensorFlowDistribution(worker_count=body.get("workerCount"),
                                      parameter_server_count=body.get("parameterServerCount"))
    if kind == "PyTorch":
        return PyTorchDistribution(process_count_per_instance=body.get("processCountPerInstance"))
    if kind == "Mpi":
        return MpiDistribution(process_count_per_instance=body.get("processCountPerInstance"))
    raise ValueError(f"unknown distributionType {kind!r}")


# -- identity ------------------------------------------------------------------------------
@dataclass(kw_only=True)
class UserIdentity:
    """Run as the submitting user (data access with the user's own permissions)."""

    type: ClassVar[str] = "user_identity"


@dataclass(kw_only=True)
class ManagedIdentity:
    """Run as a managed identity: the compute's system identity, or a user-assigned one by id."""

    type: ClassVar[str] = "managed"
    client_id: str | None = None
    object_id: str | None = None
    resource_id: str | None = None


@dataclass(kw_only=True)
class AmlTokenIdentity:
    """Run with the workspace's AML token (the service default)."""

    type: ClassVar[str] = "aml_token"


Identity = UserIdentity | ManagedIdentity | AmlTokenIdentity
_IDENTITY_REST = {UserIdentity: "UserIdentity", ManagedIdentity: "Managed", AmlTokenIdentity: "AMLToken"}


def identity_to_rest(i: Identity | None) -> dict | None:
    if i is None:
        return None
    body = {"identityType": _IDENTITY_REST[type(i)]}
    if isinstance(i, ManagedIdentity):
        body.update(compact({"clientId": i.client_id, "objectId": i.object_id, "resourceId": i.resource_id}))
    return body


def identity_from_rest(body: dict | None) -> Identity | None:
    if not body:
        return None
    kind = body.get("identityType")
    if kind == "Managed":
        return ManagedIdentity(client_id=body.get("clientId"), object_id=body.get("objectId"),
                               resource_id=body.get("resourceId"))
    for cls, rest in _IDENTITY_REST.items():
        if rest == kind:
            return cls()
    raise ValueError(f"unknown identityType {kind!r}")


# -- interactive services ------------------------------------------------------------------
SERVICE_TYPES = {"jupyter_lab": "JupyterLab", "ssh": "SSH", "tensor_board": "TensorBoard", "vs_code": "VSCode"}
_SERVICE_YAML = {v: k for k, v in SERVICE_TYPES.items()}
# YAML fields Azure ML keeps in a service's `properties` bag on the wire
_SERVICE_PROPERTIES = (("log_dir", "logDir"), ("ssh_public_keys", "sshPublicKeys"))


@dataclass(kw_only=True)
class JobService:
    """An interactive endpoint on a running job (JupyterLab, SSH, TensorBoard, VS Code).

    `status` is the service's, never sent; `endpoint` is sent when set (the API allows it on
    create) but not written to YAML.
    """

    type: str | None = None
    nodes: str | None = None  # "all": on every node; unset: the head node only
    port: int | None = None
    properties: dict[str, str] | None = None
    log_dir: str | None = None  # tensor_board
    ssh_public_keys: str | None = None  # ssh
    endpoint: str | None = field(default=None, compare=False)
    status: str | None = field(default=None, compare=False)


def services_to_rest(d: dict[str, JobService] | None) -> dict | None:
    if d is None:
        return None
    out = {}
    for name, s in d.items():
        props = dict(s.properties or {})
        props.update({rest: getattr(s, attr) for attr, rest in _SERVICE_PROPERTIES if getattr(s, attr) is not None})
        out[name] = compact({"jobServiceType": SERVICE_TYPES.get(s.type, s.type), "port": s.port,
                             "endpoint": s.endpoint,  # settable on create (x-ms-mutability create, read)
                             "nodes": {"nodesValueType": "All"} if s.nodes == "all" else None,
                             "properties": props or None})
    return out


def services_from_rest(body: dict | None) -> dict[str, JobService] | None:
    if not body:
        return None
    out = {}
    for name, s in body.items():
        props = dict(s.get("properties") or {})
        own = {attr: props.pop(rest) for attr, rest in _SERVICE_PROPERTIES if rest in props}
        kind = s.get("jobServiceType")
        nodes = (s.get("nodes") or {}).get("nodesValueType")
        out[name] = JobService(type=_SERVICE_YAML.get(kind, kind), port=s.get("port"), properties=props or None,
                               nodes=nodes.lower() if nodes else None, endpoint=s.get("endpoint"),
                               status=s.get("status"), **own)
    return out


# -- limits, queue -------------------------------------------------------------------------
@dataclass(kw_only=True)
class CommandJobLimits:
    """`timeout`: seconds after which the job is cancelled."""

    timeout: int | float | None = None


@dataclass(kw_only=True)
class QueueSettings:
    """`job_tier`: null, spot, basic, standard or premium (Azure ML serverless compute)."""

    job_tier: str | None = None


JOB_TIERS = ("null", "spot", "basic", "standard", "premium")


def queue_settings_to_rest(q: QueueSettings | None) -> dict | None:
    if q is None:
        return None
    return compact({"jobTier": q.job_tier.capitalize() if q.job_tier else None})


def queue_settings_from_rest(body: dict | None) -> QueueSettings | None:
    if not body:
        return None
    return QueueSettings(job_tier=body["jobTier"].lower() if body.get("jobTier") else None)


# -- environment ---------------------------------------------------------------------------
ANONYMOUS_ENVIRONMENT = "CliV2AnonymousEnvironment"


def environment_to_rest_id(env, scope: str) -> str | None:
    """A reference -> its ARM id; an inline Environment -> its anonymous id, versioned as azure-ai-ml versions it
    (so the operations layer can create it under that id before the job is sent)."""
    if env is None or isinstance(env, str):
        return to_arm(env, "environments", scope)
    return f"{scope}/environments/{ANONYMOUS_ENVIRONMENT}/versions/{env._anonymous_version(scope)}"


def compute_to_rest_id(compute: str | None, scope: str) -> str | None:
    """`cpu-cluster` or `azureml:cpu-cluster` -> `{scope}/computes/cpu-cluster`; ARM ids pass."""
    if compute is None or "/" in compute:
        return to_arm(compute, "computes", scope)
    return f"{scope}/computes/{compute.removeprefix('azureml:')}"


def compute_from_rest(compute_id: str | None, resource_id: str | None) -> str | None:
    """A compute of the job's own workspace by its name, as azure-ai-ml shows it; any other stays an ARM id."""
    if compute_id and resource_id and "/" in resource_id:
        prefix = resource_id.rsplit("/", 2)[0] + "/computes/"  # the job's id is {workspace}/jobs/{name}
        name = compute_id[len(prefix):]
        if compute_id[:len(prefix)].lower() == prefix.lower() and name and "/" not in name:
            return name
    return compute_id


def code_ref(code_id: str | None) -> str | None:
    # YAML writes code assets as `azureml:<ARM id>`; a bare ARM id would read as a local path
    return f"azureml:{code_id}" if code_id and code_id.startswith("/subscriptions/") else code_id


# -- the job -------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Job(Resource):
    """What every job kind shares, and its REST form. `status` is the service's, read-only."""

    display_name: str | None = None
    experiment_name: str | None = None
    compute: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    identity: Identity | None = None
    services: dict[str, JobService] | None = None
    queue_settings: QueueSettings | None = None
    status: str | None = field(default=None, compare=False)

    def _job_rest(self, job_type: str, scope: str) -> dict:
        return {
            "jobType": job_type,
            "description": self.description, "tags": str_map(self.tags), "properties": str_map(self.properties),
            "displayName": self.display_name, "experimentName": self.experiment_name,
            "computeId": compute_to_rest_id(self.compute, scope),
            "inputs": inputs_to_rest(self.inputs, scope),
            "outputs": outputs_to_rest(self.outputs, scope),
            "identity": identity_to_rest(self.identity),
            "services": services_to_rest(self.services),
            "queueSettings": queue_settings_to_rest(self.queue_settings),
        }

    @staticmethod
    def _job_fields(resource: dict) -> dict:
        props = resource.get("properties", {})
        return dict(
            name=resource.get("name"), description=props.get("description"), tags=props.get("tags") or None,
            properties=props.get("properties") or None, display_name=props.get("displayName"),
            experiment_name=props.get("experimentName"),
            compute=compute_from_rest(props.get("computeId"), resource.get("id")),
            inputs=inputs_from_rest(props.get("inputs")), outputs=outputs_from_rest(props.get("outputs")),
            identity=identity_from_rest(props.get("identity")), services=services_from_rest(props.get("services")),
            queue_settings=queue_settings_from_rest(props.get("queueSettings")), status=props.get("status"))


@dataclass(kw_only=True)
class CommandJob(Job):
    """One command run in an environment on a compute, with inputs and outputs.

    `code` is a local path (absolute once loaded) or a reference; the operations layer
    uploads local code and sets the code asset's id before the job is sent.
    """

    type: ClassVar[str] = "command"
    command: str | None = None
    code: str | None = None
    environment: Any = None  # a reference string or an inline Environment
    environment_variables: dict[str, str] | None = None
    distribution: Distribution | None = None
    resources: JobResources | None = None
    limits: CommandJobLimits | None = None

    def __call__(self, **inputs) -> "CommandJob":
        """A copy with these inputs set (e.g. search-space values before `.sweep(...)`)."""
        return replace(copy.deepcopy(self), inputs={**(self.inputs or {}), **inputs})

    def sweep(self, *, primary_metric: str, goal: str, sampling_algorithm: str | SamplingAlgorithm = "random",
              compute: str | None = None, max_total_trials: int | None = None,
              max_concurrent_trials: int | None = None, timeout: int | float | None = None,
              trial_timeout: int | float | None = None,
              early_termination_policy: EarlyTerminationPolicy | None = None,
              search_space: dict[str, SweepDistribution] | None = None, identity: Identity | None = None,
              queue_settings: QueueSettings | None = None) -> "SweepJob":
        """A SweepJob whose trial is this job: inputs set to distributions (`job(lr=Uniform(...))`) and
        `search_space` form its search space; timeouts in seconds. Raises ValidationError, one line per
        problem, if Azure ML would refuse the sweep."""
        return sweep_from_command(
            self, primary_metric=primary_metric, goal=goal, sampling_algorithm=sampling_algorithm, compute=compute,
            max_total_trials=max_total_trials, max_concurrent_trials=max_concurrent_trials, timeout=timeout,
            trial_timeout=trial_timeout, early_termination_policy=early_termination_policy, search_space=search_space,
            identity=identity, queue_settings=queue_settings)

    def _rest(self, scope: str) -> dict:
        limits = None
        if self.limits is not None:
            limits = compact({"jobLimitsType": "Command", "timeout": iso_from_seconds(self.limits.timeout)})
        return {"properties": compact({
            **self._job_rest("Command", scope),
            "command": self.command,
            "codeId": to_arm(self.code, "codes", scope),
            "environmentId": environment_to_rest_id(self.environment, scope),
            "environmentVariables": str_map(self.environment_variables),
            "distribution": distribution_to_rest(self.distribution),
            "resources": resources_to_rest(self.resources),
            "limits": limits,
        })}

    @classmethod
    def _from_rest(cls, resource: dict) -> "CommandJob":
        props = resource.get("properties", {})
        limits = props.get("limits")
        return cls(
            **cls._job_fields(resource), command=props.get("command"), code=code_ref(props.get("codeId")),
            environment=props.get("environmentId"),
            environment_variables=props.get("environmentVariables") or None,
            distribution=distribution_from_rest(props.get("distribution")),
            resources=resources_from_rest(props.get("resources")),
            limits=CommandJobLimits(timeout=seconds_from_iso(limits.get("timeout"))) if limits else None,
        )


# -- the sweep job ---------------------------------------------------------------------------
def trial_to_rest(trial: CommandJob, scope: str) -> dict:
    """The trial's REST form: a command template, without inputs or a compute of its own."""
    return compact({"command": trial.command, "codeId": to_arm(trial.code, "codes", scope),
                    "environmentId": environment_to_rest_id(trial.environment, scope),
                    "environmentVariables": str_map(trial.environment_variables),
                    "distribution": distribution_to_rest(trial.distribution),
                    "resources": resources_to_rest(trial.resources)})


def trial_from_rest(body: dict) -> CommandJob:
    return CommandJob(command=body.get("command"), code=code_ref(body.get("codeId")),
                      environment=body.get("environmentId"),
                      environment_variables=body.get("environmentVariables") or None,
                      distribution=distribution_from_rest(body.get("distribution")),
                      resources=resources_from_rest(body.get("resources")))


@dataclass(kw_only=True)
class SweepJob(Job):
    """A hyperparameter sweep: trials of a command template, each with values drawn from
    `search_space` by `sampling_algorithm`, judged by `objective`, within `limits`.

    The trial command names search-space values as `${{search_space.<name>}}` and the
    sweep's inputs as `${{inputs.<name>}}`. `sampling_algorithm` is `random`, `grid`,
    `bayesian` or a SamplingAlgorithm object; the string form is kept as written.
    """

    type: ClassVar[str] = "sweep"
    trial: CommandJob | None = None  # the template of every trial: command, code, environment ...
    search_space: dict[str, SweepDistribution] | None = None
    sampling_algorithm: str | SamplingAlgorithm | None = None
    objective: Objective | None = None
    limits: SweepJobLimits | None = None
    early_termination: EarlyTerminationPolicy | None = None

    def __post_init__(self):
        if isinstance(self.sampling_algorithm, str):
            self.sampling_algorithm = self.sampling_algorithm.lower()

    def set_limits(self, *, max_total_trials: int | None = None, max_concurrent_trials: int | None = None,
                   timeout: int | float | None = None, trial_timeout: int | float | None = None) -> None:
        """Set the limits given (timeouts in seconds), keeping the others."""
        given = {"max_total_trials": max_total_trials, "max_concurrent_trials": max_concurrent_trials,
                 "timeout": timeout, "trial_timeout": trial_timeout}
        given = {k: v for k, v in given.items() if v is not None}
        if given:
            self.limits = replace(self.limits or SweepJobLimits(), **given)

    def set_objective(self, *, goal: str | None = None, primary_metric: str | None = None) -> None:
        """Set the goal and/or the primary metric, keeping the other."""
        current = self.objective or Objective(goal=None, primary_metric=None)
        self.objective = Objective(goal=goal or current.goal, primary_metric=primary_metric or current.primary_metric)

    def validate(self) -> None:
        """Raise azureml_v2.ValidationError, one line per problem, if Azure ML would refuse this sweep."""
        problems = sweep_problems(vars(self), _declared(self.inputs, self.outputs, self.search_space))
        if problems:
            # the paths are field names only: `search_space.lr.type`
            raise ValidationError([Problem(message, ".".join(map(str, path)), "<SweepJob>")
                                   for path, message in problems])

    def _rest(self, scope: str) -> dict:
        space = self.search_space
        return {"properties": compact({
            **self._job_rest("Sweep", scope),
            "searchSpace": {k: v._to_rest() if isinstance(v, SweepDistribution) else v for k, v in space.items()}
            if space is not None else None,
            "samplingAlgorithm": sampling_to_rest(self.sampling_algorithm)
            if self.sampling_algorithm is not None else None,
            "objective": self.objective._to_rest() if self.objective is not None else None,
            "limits": self.limits._to_rest() if self.limits is not None else None,
            "earlyTermination": self.early_termination._to_rest() if self.early_termination is not None else None,
            "trial": trial_to_rest(self.trial, scope) if self.trial is not None else None,
        })}

    @classmethod
    def _from_rest(cls, resource: dict) -> "SweepJob":
        props = resource.get("properties", {})
        space, sampling, objective = props.get("searchSpace"), props.get("samplingAlgorithm"), props.get("objective")
        limits, policy, trial = props.get("limits"), props.get("earlyTermination"), props.get("trial")
        return cls(
            **cls._job_fields(resource),
            search_space={k: search_value_from_rest(v) for k, v in space.items()} if space is not None else None,
            sampling_algorithm=sampling_from_rest(sampling) if sampling else None,
            objective=Objective._from_rest(objective) if objective else None,
            limits=SweepJobLimits._from_rest(limits) if limits else None,
            early_termination=EarlyTerminationPolicy._from_rest(policy) if policy else None,
            trial=trial_from_rest(trial) if trial else None,
        )


def _declared(inputs, outputs, search_space) -> dict:
    return {root: list(value or ()) for root, value in
            (("inputs", inputs), ("outputs", outputs), ("search_space", search_space))}


# -- from a command job ----------------------------------------------------------------------
def sweep_from_command(job: CommandJob, *, primary_metric: str, goal: str,
                       sampling_algorithm: str | SamplingAlgorithm = "random", compute: str | None = None,
                       max_total_trials: int | None = None, max_concurrent_trials: int | None = None,
                       timeout: int | float | None = None, trial_timeout: int | float | None = None,
                       early_termination_policy: EarlyTerminationPolicy | None = None,
                       search_space: dict[str, SweepDistribution] | None = None,
                       identity: Identity | None = None, queue_settings: QueueSettings | None = None) -> SweepJob:
    """A SweepJob over a CommandJob, as `command(...)(lr=Uniform(0.01, 0.1)).sweep(...)` builds it.

    Inputs whose values are distributions become the search space, and the command's
    `${{inputs.<name>}}` for them become `${{search_space.<name>}}`.
    """
    inputs = dict(job.inputs or {})
    space = {k: v for k, v in inputs.items() if isinstance(v, SweepDistribution)}
    space.update(search_space or {})
    for key in space:
        inputs.pop(key, None)
    command = job.command
    if isinstance(command, str) and space:
        def to_search_space(p):
            return f"${{{{search_space.{p.name}}}}}" if p.root == "inputs" and p.name in space else p.text
        command = substitute(command, to_search_space, optional_blocks=False)
    trial = CommandJob(command=command, code=job.code, environment=copy.deepcopy(job.environment),
                       environment_variables=copy.deepcopy(job.environment_variables),
                       distribution=copy.deepcopy(job.distribution), resources=copy.deepcopy(job.resources))
    sweep = SweepJob(
        name=job.name, description=job.description, tags=copy.deepcopy(job.tags),
        properties=copy.deepcopy(job.properties), display_name=job.display_name,
        experiment_name=job.experiment_name, compute=compute if compute is not None else job.compute,
        inputs=copy.deepcopy(inputs) or None, outputs=copy.deepcopy(job.outputs), trial=trial,
        search_space=space,
        sampling_algorithm=sampling_algorithm, objective=Objective(goal=goal, primary_metric=primary_metric),
        early_termination=early_termination_policy,
        identity=copy.deepcopy(identity if identity is not None else job.identity),
        queue_settings=copy.deepcopy(queue_settings if queue_settings is not None else job.queue_settings))
    sweep.set_limits(max_total_trials=max_total_trials, max_concurrent_trials=max_concurrent_trials, timeout=timeout,
                     trial_timeout=trial_timeout)
    sweep.validate()
    return sweep
