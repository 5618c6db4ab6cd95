"""What the client, the local service and the job processes agree on.

The REST API's version and scopes, job statuses, the property keys a job carries besides its spec, limits,
the reference grammar (`azureml:` ids, datastore and job-output URIs, ARM ids), ISO 8601 durations and the
`${{root.name}}` placeholders of commands. Standard library only (isodate for durations), so that any layer
may import it.
"""
from __future__ import annotations

import collections
import functools
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import budget)
if TYPE_CHECKING:
    from typing import Callable

# -- the REST API ----------------------------------------------------------------------------------------
API_VERSION = "2024-04-01"
# 2024-04-01 has no field that registers a job's output as an asset; Azure ML reads `assetName` (and, as azure-ai-ml
# sends it, `assetVersion`) at the api-version azure-ai-ml submits command jobs at, whose spec defines `assetName`.
NAMED_OUTPUTS_API_VERSION = "2025-01-01-preview"
# What the local workspace also answers (in the API_VERSION shape): every version azure-ai-ml and `az ml` send for
# Machine Learning ARM operations.
SERVED_API_VERSIONS = frozenset({
    API_VERSION, "2022-05-01", "2022-10-01", "2023-04-01", "2023-10-01", "2025-12-01",
    "2022-02-01-preview", "2022-10-01-preview", "2023-02-01-preview", "2023-04-01-preview", "2023-06-01-preview",
    "2023-08-01-preview", "2024-01-01-preview", "2024-04-01-preview", "2024-10-01-preview", NAMED_OUTPUTS_API_VERSION})
PROVIDER = "Microsoft.MachineLearningServices"


def workspace_scope(subscription_id: str, resource_group: str, workspace: str) -> str:
    """A workspace's ARM id, the prefix of every resource path in it."""
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{PROVIDER}"
            f"/workspaces/{workspace}")


def registry_scope(subscription_id: str, resource_group: str, registry: str) -> str:
    """A registry's ARM id, the prefix of every asset path in it."""
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{PROVIDER}/registries/{registry}"


def check_scope(scope: object) -> None:
    """ValueError unless `scope` is a workspace's (or a registry's) ARM id, as workspace_scope makes it."""
    parts = scope.split("/") if isinstance(scope, str) else ()
    if not (len(parts) == 9 and parts[0] == "" and all(parts[1:]) and parts[1] == "subscriptions"
            and parts[3].lower() == "resourcegroups" and parts[5] == "providers"
            and parts[6].lower() == PROVIDER.lower() and parts[7] in ("workspaces", "registries")):
        raise ValueError(f"scope {scope!r} is not a workspace's ARM id: expected /subscriptions/<id>/resourceGroups/"
                         f"<group>/providers/{PROVIDER}/workspaces/<name> (azureml_v2.workspace_scope makes one)")


# The local workspace's scope: ARM-shaped so the same REST code serves both backends.
LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LOCAL_RESOURCE_GROUP = "local"
LOCAL_WORKSPACE = "local"
LOCAL_COMPUTE = "local"  # the compute every local workspace has: this machine
LOCAL_SCOPE = workspace_scope(LOCAL_SUBSCRIPTION, LOCAL_RESOURCE_GROUP, LOCAL_WORKSPACE)

# -- jobs --------------------------------------------------------------------------------------------------
# The spec's JobStatus values a job ends in, and those of a job on its way there.
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Canceled"})
ACTIVE_STATUSES = ("Queued", "Preparing", "Running", "Finalizing", "CancelRequested")

# How a job ran, in its `properties` (the spec has no fields for these); read-only, a PUT ignores them.
RUN_PROPERTIES = ("StartTimeUtc", "EndTimeUtc", "ExitCode", "Error")


def job_error(resource: dict) -> str | None:
    """The failure reason a job resource records in its run property `Error`; None when it has none."""
    return (resource.get("properties", {}).get("properties") or {}).get("Error") or None


# As on Azure ML: a batch model deployment's invocation is a pipeline job whose one step, `batchscoring`, writes the
# predictions to its output `score`; the tags mark a batch job (a pipeline component deployment's says it is a
# pipeline job, which clients download as any pipeline)
SCORING_NODE, SCORE_OUTPUT = "batchscoring", "score"
BATCH_RUN_TAG, BATCH_DEPLOYMENT_TAG, BATCH_JOB_TYPE_TAG = "azureml.batchrun", "azureml.deploymentname", "azureml.jobtype"
PIPELINE_JOB_TYPE = "azureml.pipelinejob"


def is_batch_scoring(tags: dict | None) -> bool:
    """Whether a job with these tags is a batch model deployment's invocation (whose download is its predictions)."""
    tags = tags or {}
    return tags.get(BATCH_RUN_TAG) == "true" and tags.get(BATCH_JOB_TYPE_TAG) != PIPELINE_JOB_TYPE


# What a sweep reports in `properties` of the sweep (Azure ML's names) and of a trial it stopped early.
BEST_CHILD = "best_child_run_id"
SCORE = "score"
SWEEP_SUMMARY = "azureml.sweep.summary"
EARLY_TERMINATED = "azureml.sweep.earlyTerminated"
SWEEP_SEED = "azureml.sweep.seed"  # the seed an unseeded sweep drew, to reproduce it
# What a pipeline reports: where each of its outputs is (JSON: output -> azureml://jobs/<step>/outputs/<o>).
PIPELINE_OUTPUTS = "azureml.pipeline.outputs"
# What a parallel job reports: its mini-batch and item counts, as JSON
PARALLEL_SUMMARY = "azureml.parallel.summary"
# Whether a job's Python process (a parallel job's: each of its workers) was forked from a warm interpreter of its
# environment ("true") or started cold.
WARM_START_PROPERTY = "azureml.warmStart"
RESULT_PROPERTIES = (BEST_CHILD, SCORE, SWEEP_SUMMARY, EARLY_TERMINATED, SWEEP_SEED, PIPELINE_OUTPUTS, PARALLEL_SUMMARY,
                     WARM_START_PROPERTY)
# what a job's properties gain by running: not part of its definition (exports, ARM templates leave them out)
STATE_PROPERTIES = frozenset({*RUN_PROPERTIES, *RESULT_PROPERTIES})
# A child job (pipeline step, sweep trial) names its parent in this property; a job list selects the children of a
# job with this query parameter.
PARENT_JOB_PROPERTY = "azureml.parentJobName"
PARENT_JOB_PARAM = "parentJobName"
# A sweep trial's number and the search-space values it ran with (JSON), in its properties.
TRIAL_PROPERTY = "azureml.trial"
TRIAL_PARAMS_PROPERTY = "azureml.sweep.params"
# A pipeline step's node name, and, in a step reused from an earlier run, that run's job (Azure ML's names); the
# reuse key and per-field digests of a step that ran, and why a step ran although an earlier one nearly matched.
NODE_PROPERTY = "azureml.nodeid"
REUSED_PROPERTY = "azureml.isreused"
REUSED_FROM_PROPERTY = "azureml.reusedrunid"
REUSE_KEY_PROPERTY = "azureml.reuse.key"
REUSE_FIELDS_PROPERTY = "azureml.reuse.fields"
REUSE_MISS_PROPERTY = "azureml.reuse.miss"
# How many steps of a pipeline run at once on the local workspace (default: the machine's cores); Azure ML ignores it.
MAX_CONCURRENT_NODES = "azureml.pipeline.maxConcurrentNodes"

DEFAULT_EXPERIMENT = "Default"  # the experiment of a job that names none
# A job a schedule created names the schedule and the time it was due (UTC) in these properties.
SCHEDULE_PROPERTY = "azureml.scheduleName"
SCHEDULE_TIME_PROPERTY = "azureml.scheduleTime"
# A batch endpoint's invocation is a job that names its endpoint and deployment in these properties; a list of the
# endpoint's (or deployment's) jobs filters on them.
BATCH_ENDPOINT_PROPERTY = "azureml.batchEndpointName"
BATCH_DEPLOYMENT_PROPERTY = "azureml.batchDeploymentName"

MAX_TRIALS = 1000  # Azure ML's default and largest maxTotalTrials and maxConcurrentTrials

# The spec's pattern for the names of jobs, assets, components and schedules (ASCII only, at most 255 characters).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")

# The spec puts no pattern on versions (`1.2.3`, `2024:01`); what could not stand in a URL path segment is refused.
VERSION = re.compile(r"[^\s/\\%?#]{1,255}")

DATA_TYPES = ("uri_file", "uri_folder", "mltable")
MODEL_TYPES = ("custom_model", "mlflow_model", "triton_model")

# -- workspace connections -------------------------------------------------------------------------------
# The spec's ConnectionCategory (a connection's `category`; its YAML `type` is the snake_case form)
CONNECTION_CATEGORIES = (
    "PythonFeed", "ContainerRegistry", "Git", "S3", "Snowflake", "AzureSqlDb", "AzureSynapseAnalytics",
    "AzureMySqlDb", "AzurePostgresDb", "ADLSGen2", "Redis", "ApiKey", "AzureOpenAI", "CognitiveSearch",
    "CognitiveService", "CustomKeys", "AzureBlob", "AzureOneLake", "CosmosDb", "CosmosDbMongoDbApi",
    "AzureDataExplorer", "AzureMariaDb", "AzureDatabricksDeltaLake", "AzureSqlMi", "AzureTableStorage",
    "AmazonRdsForOracle", "AmazonRdsForSqlServer", "AmazonRedshift", "Db2", "Drill", "GoogleBigQuery", "Greenplum",
    "Hbase", "Hive", "Impala", "Informix", "MariaDb", "MicrosoftAccess", "MySql", "Netezza", "Oracle", "Phoenix",
    "PostgreSql", "Presto", "SapOpenHub", "SapBw", "SapHana", "SapTable", "Spark", "SqlServer", "Sybase", "Teradata",
    "Vertica", "Cassandra", "Couchbase", "MongoDbV2", "MongoDbAtlas", "AmazonS3Compatible", "FileServer",
    "FtpServer", "GoogleCloudStorage", "Hdfs", "OracleCloudStorage", "Sftp", "GenericHttp", "ODataRest", "Odbc",
    "GenericRest", "AmazonMws", "Concur", "Dynamics", "DynamicsAx", "DynamicsCrm", "GoogleAdWords", "Hubspot",
    "Jira", "Magento", "Marketo", "Office365", "Eloqua", "Responsys", "OracleServiceCloud", "PayPal", "QuickBooks",
    "Salesforce", "SalesforceServiceCloud", "SalesforceMarketingCloud", "SapCloudForCustomer", "SapEcc",
    "ServiceNow", "SharePointOnlineList", "Shopify", "Square", "WebTable", "Xero", "Zoho",
    "GenericContainerRegistry", "OpenAI", "Serp", "BingLLMSearch", "Serverless", "AIServices",
)
# Each ConnectionAuthType with its credentials' members, True for a secret: a read never shows a secret, only
# listsecrets does.
CONNECTION_CREDENTIALS = {
    "PAT": {"pat": True},
    "UsernamePassword": {"username": False, "password": True, "securityToken": True},
    "ManagedIdentity": {"clientId": False, "resourceId": False},
    "AccessKey": {"accessKeyId": False, "secretAccessKey": True},
    "ApiKey": {"key": True},
    "AccountKey": {"key": True},
    "SAS": {"sas": True},
    "ServicePrincipal": {"clientId": False, "clientSecret": True, "tenantId": False},
    "CustomKeys": {"keys": True},
    "OAuth2": {"authUrl": False, "clientId": False, "clientSecret": True, "developerToken": True, "password": True,
               "refreshToken": True, "tenantId": False, "username": False},
    "None": {},
    "AAD": {},
}

# A local folder datastore goes on the wire as the spec's AzureBlob type (what every client reads) with its folder
# in this property; a datastore whose properties carry it is that folder.
LOCAL_FOLDER_PROPERTY = "azureml.localFolder"

# -- references ---------------------------------------------------------------------------------------------
# Where Azure ML keeps a job's artifacts: a folder of this datastore.
ARTIFACT_STORE = "workspaceartifactstore"
# A workspace's default datastore, where a job's named outputs given no path are kept.
DEFAULT_DATASTORE = "workspaceblobstore"

# Curated names carry dots (AzureML-sklearn-1.5), so references are looser than new names.
_REF_NAME = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,254}"
SHORT_REF = re.compile(rf"^azureml:(?P<name>{_REF_NAME})(?::(?P<version>[^:@/\s][^@/\s]*)|@(?P<label>[A-Za-z0-9._\-]+))?$")
REGISTRY_URI = re.compile(rf"^azureml://registries/(?P<registry>[^/\s]+)/(?P<kind>[a-z]+)/(?P<name>{_REF_NAME})"
                          r"(?:/versions/(?P<version>[^/\s]+)|/labels/(?P<label>[^/\s]+))?$")
DATASTORE_URI = re.compile(r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/workspaces/[^/]+/)?"
                           r"datastores/(?P<name>[^/\s]+)/paths(?:/(?P<path>.*))?$")
JOB_OUTPUT_URI = re.compile(r"^azureml://jobs/(?P<name>[^/\s]+)/outputs/(?P<output>[^/\s]+)"
                            r"(?:/paths/(?P<path>.*))?$")
ARM_ID = re.compile(r"^(?:azureml:)?/subscriptions/[^/\s]+/resource[gG]roups/[^/\s]+/providers/"
                    r"Microsoft\.MachineLearningServices/(?P<rest>\S+)$", re.IGNORECASE)
# A workspace resource's ARM id: its workspace, kind (data, models, environments ...), name and version.
ASSET_ID = re.compile(r"^(?:azureml:)?/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/"
                      r"Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)/"
                      r"(?P<kind>[a-zA-Z]+)/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?$", re.IGNORECASE)
# A registry asset's ARM id (what a registry answers as a version's `id`)
REGISTRY_ASSET_ID = re.compile(r"^(?:azureml:)?/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/"
                               r"Microsoft\.MachineLearningServices/registries/(?P<registry>[^/]+)/"
                               r"(?P<kind>[a-zA-Z]+)/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?$", re.IGNORECASE)
# A datastore path or job output named with its workspace, as a registry takes the files of an asset it copies in
WORKSPACE_URI = re.compile(r"^azureml://subscriptions/[^/]+/resource[gG]roups/[^/]+/workspaces/(?P<workspace>[^/]+)/"
                           r"(?P<rest>(?:datastores|jobs)/.+)$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S+$")
_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]")
_REMOTE_PREFIXES = ("azureml:", "git+", "/subscriptions/")


class Ref(collections.namedtuple("Ref", "form name version label", defaults=(None, None, None))):
    """A parsed reference: its form (short, registry, datastore, job_output, arm) and what it names."""

    __slots__ = ()


def job_artifacts_path(job: str) -> str:
    """A job's artifacts folder in the artifact store."""
    return f"ExperimentRun/dcid.{job}"


def job_artifacts_uri(job: str) -> str:
    return f"azureml://datastores/{ARTIFACT_STORE}/paths/{job_artifacts_path(job)}"


def default_output_path(job: str, key: str) -> str:
    """The folder of the default datastore where Azure ML keeps a job's named output given no path (what
    azure-ai-ml searches when the service answers no uri)."""
    return f"azureml/{job}/{key}/"


_OUTPUT_PATH_NAMES = re.compile(r"\$\{\{\s*(name|output_name)\s*\}\}")


def fill_output_path(uri: str, job: str, key: str) -> str:
    """An output location with `${{name}}` and `${{output_name}}` filled in with the job's name and the output's,
    as Azure ML fills them in."""
    return _OUTPUT_PATH_NAMES.sub(lambda m: job if m.group(1) == "name" else key, uri)


def output_uri(job: str, key: str, spec: dict, datastore: str = DEFAULT_DATASTORE) -> str:
    """Where a job's named output `spec` is stored: its own datastore `uri` (`fill_output_path`), else
    `default_output_path` of the default datastore, where a uri_file output is the file named as the output (as a
    command's mount writes it)."""
    uri = spec.get("uri")
    if uri and DATASTORE_URI.match(uri):
        return fill_output_path(uri, job, key)
    folder = f"azureml://datastores/{datastore}/paths/{default_output_path(job, key)}"
    return folder + key if spec.get("jobOutputType") == "uri_file" else folder


def legacy_output_uri(job: str, key: str) -> str:
    """Where a named output given no path was kept by homes before outputs moved to the default datastore: under
    the job's artifacts (still read, so that jobs that ran then keep their outputs)."""
    return f"{job_artifacts_uri(job)}/{key}"


def compute_placeholder_problem(compute: str | None) -> str | None:
    """The examples' `<ATTACHED_SPARK_POOL_NAME>`. It loads, as in azure-ai-ml, so that it can be set after
    loading; no compute has such a name, so a job naming it cannot be submitted."""
    if compute and re.fullmatch(r"(azureml:)?<[^<>]+>", compute):
        return (f"{compute} is a placeholder to fill in: the name of a compute of the workspace (on the local "
                "workspace: local), set in the YAML, with `--set`, or on the loaded job before it is submitted")
    return None


def is_windows_path(value: str) -> bool:
    return bool(_WINDOWS.match(value))


def is_local(value: str) -> bool:
    """A path on this machine, as opposed to a URI or an asset reference."""
    return not (value.startswith(_REMOTE_PREFIXES) or "://" in value)


def parse_ref(value: str, kind: str | None = None) -> Ref:
    """Check a reference's syntax; ValueError says what is wrong with it.

    `kind` is the REST collection referred to (`computes` takes a name without a version).
    """
    if value.startswith("azureml://"):
        for form, pattern in (("registry", REGISTRY_URI), ("datastore", DATASTORE_URI),
                              ("job_output", JOB_OUTPUT_URI)):
            m = pattern.match(value)
            if m:
                groups = m.groupdict()
                return Ref(form, groups.get("name"), groups.get("version"), groups.get("label"))
        raise ValueError(f"malformed reference {value!r}: expected azureml://datastores/<datastore>/paths/<path>, "
                         "azureml://jobs/<job>/outputs/<output> or azureml://registries/<registry>/<kind>/<name>/"
                         "versions/<version>")
    m = ARM_ID.match(value)
    if m:
        parts = m.group("rest").split("/")
        return Ref("arm", parts[-1] if len(parts) % 2 == 0 else None)
    if value.startswith("azureml:"):
        m = SHORT_REF.match(value)
        if not m:
            raise ValueError(f"malformed reference {value!r}: expected azureml:<name>:<version> or "
                             "azureml:<name>@<label>")
        if kind not in ("computes", None) and not (m.group("version") or m.group("label")):
            raise ValueError(f"reference {value!r} names no version: write azureml:<name>:<version> or "
                             "azureml:<name>@latest")
        return Ref("short", m.group("name"), m.group("version"), m.group("label"))
    raise ValueError(f"malformed reference {value!r}: expected azureml:<name>:<version>, azureml:<name>@<label> "
                     "or an ARM id")


def check_uri(value: str, kind: str | None = None) -> None:
    """ValueError unless `value` is a well-formed reference (to a `kind` resource), ARM id, git URL or URI."""
    if value.startswith("azureml:") or ARM_ID.match(value):
        parse_ref(value, kind)
    elif value.startswith("git+"):
        if not _URI.match(value[4:]):
            raise ValueError(f"malformed git URL {value!r}")
    elif not _URI.match(value):
        raise ValueError(f"malformed URI {value!r}")


def to_arm(value: str | None, kind: str, scope: str) -> str | None:
    """`azureml:name:version` -> the ARM id under `scope` the REST API takes; other forms pass through.

    Labels (`@latest`) need the service to resolve and are left to the caller.
    """
    if not value or not value.startswith("azureml:") or value.startswith("azureml://"):
        return value
    if value.startswith("azureml:/subscriptions/"):
        return value[len("azureml:"):]
    m = SHORT_REF.match(value)
    if not m or m.group("label"):
        return value
    if kind == "computes":
        return f"{scope}/computes/{m.group('name')}"
    if not m.group("version"):
        return value
    return f"{scope}/{kind}/{m.group('name')}/versions/{m.group('version')}"


# -- ISO 8601 durations -------------------------------------------------------------------------------------
def iso_from_seconds(seconds: int | float | None) -> str | None:
    if seconds is None:
        return None
    import datetime  # import budget: as isodate

    import isodate  # import budget: the client's import stays free of third-party modules
    return isodate.duration_isoformat(datetime.timedelta(seconds=seconds))


def seconds_from_iso(text: str | None) -> int | float | None:
    """`PT1H30M` -> 5400; ValueError for text that is not a duration, or one with months or years."""
    if text is None:
        return None
    import isodate  # import budget: the client's import stays free of third-party modules
    value = isodate.parse_duration(text)
    if not hasattr(value, "total_seconds") or getattr(value, "years", 0) or getattr(value, "months", 0):
        raise ValueError(f"duration {text!r} has months or years")
    total = value.total_seconds()
    return int(total) if float(total).is_integer() else total


# -- ${{root.name}} placeholders ----------------------------------------------------------------------------
# `${{inputs.lr}}`, `${{ outputs.model }}`, `${{search_space.lr}}`, `${{parent.inputs.x}}`; whitespace inside the
# braces is ignored. `$[[ ... ]]` is an optional block: it is kept when every placeholder in it has a value.
PLACEHOLDER = re.compile(r"\$\{\{\s*(?P<expression>[^{}]*?)\s*\}\}")
OPTIONAL_BLOCK = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.DOTALL)


_TOKEN = re.compile(f"{OPTIONAL_BLOCK.pattern}|{PLACEHOLDER.pattern}", re.DOTALL)


class Placeholder(collections.namedtuple("Placeholder", "text expression")):
    """One `${{...}}`: as written (`${{ inputs.lr }}`), and its dotted expression (`inputs.lr`) split into
    root and the names after it."""

    __slots__ = ()

    @property
    def root(self) -> str:
        return self.expression.partition(".")[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The names after the root: `("lr",)` for inputs.lr, `("inputs", "x")` for parent.inputs.x."""
        rest = self.expression.partition(".")[2]
        return tuple(rest.split(".")) if rest else ()

    @property
    def name(self) -> str | None:
        """The one name after the root (`lr` in inputs.lr), None when there is not exactly one."""
        path = self.path
        return path[0] if len(path) == 1 and path[0] else None


class UnresolvedPlaceholder(ValueError):
    """A placeholder outside an optional block has no value."""

    def __init__(self, placeholder: Placeholder):
        super().__init__(f"{placeholder.text} has no value")
        self.placeholder = placeholder


# The node types of a pipeline's `jobs` (docs/architecture.md, "Pipeline jobs on the wire").
NODE_TYPES = ("command", "sweep", "parallel", "pipeline", "spark")
# A pipeline node's input or output bound to its pipeline: the whole value is one `${{parent...}}`.
BINDING_FORMS = ("parent.inputs.<name>", "parent.outputs.<name>", "parent.jobs.<node>.outputs.<name>")


@functools.lru_cache(maxsize=4096)  # a pipeline binds the same few values many times
def _binding(value: str) -> tuple[str, ...] | None:
    m = PLACEHOLDER.fullmatch(value.strip())
    if m is None:
        return None
    p = _placeholder(m)
    return p.path if p.root == "parent" else None


def binding(value: object) -> tuple[str, ...] | None:
    """The names after `parent` of a value that is one `${{parent...}}` placeholder and nothing else:
    `("inputs", "x")`, `("outputs", "y")` or `("jobs", "train", "outputs", "model")`, as written (its shape is
    not checked: see binding_problem); None for any other value."""
    return _binding(value) if isinstance(value, str) and "${{" in value else None


def binding_problem(path: tuple[str, ...]) -> str | None:
    """What is wrong with the shape of a binding's path (see binding), None when it has one of BINDING_FORMS."""
    if (len(path) == 2 and path[0] in ("inputs", "outputs") and path[1]) or (
            len(path) == 4 and path[0] == "jobs" and path[2] == "outputs" and path[1] and path[3]):
        return None
    return "expected " + " or ".join("${{" + form + "}}" for form in BINDING_FORMS)


def _placeholder(m: re.Match) -> Placeholder:
    return Placeholder(m.group(0), m.group("expression"))


def placeholders(text: str) -> list[Placeholder]:
    """Every placeholder of `text`, in order, optional blocks included."""
    return [_placeholder(m) for m in PLACEHOLDER.finditer(text)]


_OPENING = re.compile(re.escape("${{"))


def stray_openings(text: str) -> list[str]:
    """Each `${{` of `text` that opens no placeholder (a brace inside it, no `}}` after it), as written: it is
    left as it is, and the shell refuses it ("bad substitution")."""
    placed = {m.start() for m in PLACEHOLDER.finditer(text)}
    stray = []
    for i in (m.start() for m in _OPENING.finditer(text) if m.start() not in placed):
        rest = text[i + 3:]
        close, following = rest.find("}}"), rest.find("${{")
        end = min(close + 2 if close >= 0 else len(rest), following if following >= 0 else len(rest))
        shown = ("${{" + rest[:end]).rstrip()
        stray.append(shown if len(shown) <= 40 else shown[:37] + "...")
    return stray


def unclosed_optional_block(text: str) -> bool:
    """Whether `text` opens a `$[[` block it does not close."""
    return "$[[" in OPTIONAL_BLOCK.sub("", text)


def substitute(text: str, resolve: Callable[[Placeholder], str | None], *, optional_blocks: bool = True) -> str:
    """`text` with each placeholder replaced by `resolve(placeholder)`.

    `resolve` returns the replacement (`placeholder.text` leaves it as written), None when it has no value,
    or raises. With optional_blocks, a `$[[ ... ]]` block whose placeholders all have values is kept without
    its brackets and one with a placeholder without value is dropped; elsewhere, a placeholder without value
    raises UnresolvedPlaceholder. Without optional_blocks, blocks are left as written (their placeholders
    still replaced).
    """
    def value(m: re.Match) -> str:
        placeholder = _placeholder(m)
        replacement = resolve(placeholder)
        if replacement is None:
            raise UnresolvedPlaceholder(placeholder)
        return replacement

    def token(m: re.Match) -> str:
        if m.group("expression") is not None:
            return value(m)
        try:  # one pass: a value that looks like a placeholder is not replaced again
            return PLACEHOLDER.sub(value, m.group("body"))
        except UnresolvedPlaceholder:
            return ""

    if not optional_blocks:
        return PLACEHOLDER.sub(value, text)
    return _TOKEN.sub(token, text)
