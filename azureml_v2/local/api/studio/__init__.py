"""The studio: web pages of the local workspace, served under ``/studio/`` by `azml server` beside the REST API.

Pages are rendered on the server (Jinja2 templates, SVG charts) from the bodies the ARM API renders, with a little
script for what changes while one looks (statuses, logs, the pipeline's graph, laid out by the vendored dagre).
Signing in: a one-time login URL (`auth.ticket`) sets the session cookie; without it every studio path answers 401.
Writes (cancel, invoking an endpoint) need a contributor session, and a same-origin request.

    app = with_studio(api_app, local_app, {"contributor": token, "reader": reader_token})
"""
from __future__ import annotations

import io
import json
import logging
import mimetypes
import re
import time
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote, urlencode

from ...._contract import (API_VERSION, DEFAULT_EXPERIMENT, EARLY_TERMINATED, LOCAL_WORKSPACE, NODE_PROPERTY,
                           REUSED_PROPERTY, TERMINAL_STATUSES, TRIAL_PARAMS_PROPERTY, TRIAL_PROPERTY, ASSET_ID,
                           JOB_OUTPUT_URI, binding, job_error)
from ...._trials import SweepView, Trial
from ...core.checks import JOB_REQUIRED
from ...core.metrics import chart_points, metrics
from ...core.refs import References, RefError
from ...core.workspace import ENDPOINT_COLLECTIONS, BadRequest, NotFound, Page, workspace_id
from ..http import _BAD_PATH, CONTRIBUTOR, HttpError, Query, Request, read_body
from . import charts
from .auth import Sessions

HERE = Path(__file__).parent
STATIC = HERE / "static"
PAGE_SIZE = 50  # jobs per page
LOG_CHUNK = 256 * 1024  # bytes of a log sent at once
ASSET_KINDS = ("data", "environments", "models", "components", "codes")
STATUSES = ("NotStarted", "Queued", "Preparing", "Running", "Finalizing", "CancelRequested", "Completed", "Failed",
            "Canceled")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,254}"
_WS = r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}"

log = logging.getLogger(__name__)


class Respond(Exception):
    """An answer other than a page (a redirect, an error), raised from a handler."""

    def __init__(self, status: int, text: str = "", headers: tuple = ()):
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers


def with_studio(api, local, tokens: dict[str, str]):
    """WSGI: ``/studio`` paths go to the studio of `local` (a LocalApp), the rest to `api`."""
    studio = Studio(local, tokens)

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/studio" or path.startswith("/studio/"):
            return studio(environ, start_response)
        return api(environ, start_response)

    dispatch.studio = studio
    return dispatch


class Studio:
    def __init__(self, local, tokens: dict[str, str]):
        import jinja2  # import budget: only a running server renders pages

        self.local, self.store, self.sessions = local, local.store, Sessions(tokens)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            trim_blocks=True, lstrip_blocks=True)
        self.templates.filters["duration"] = _duration
        self.templates.filters["when"] = _when
        self.routes = [(re.compile(pattern + "$"), method, handler) for pattern, method, handler in (
            (r"/static/(?P<name>[a-z0-9_.\-/]+)", "GET", self.static),
            (rf"/(?P<ws>{_WS})/jobs", "GET", self.jobs_page),
            (rf"/(?P<ws>{_WS})/statuses", "GET", self.statuses),
            (rf"/(?P<ws>{_WS})/jobs/(?P<name>{_NAME})", "GET", self.job_page),
            (rf"/(?P<ws>{_WS})/jobs/(?P<name>{_NAME})/log", "GET", self.log),
            (rf"/(?P<ws>{_WS})/jobs/(?P<name>{_NAME})/graph", "GET", self.graph),
            (rf"/(?P<ws>{_WS})/jobs/(?P<name>{_NAME})/cancel", "POST", self.cancel),
            (rf"/(?P<ws>{_WS})/jobs/(?P<name>{_NAME})/outputs/(?P<output>{_NAME})/(?P<path>.+)", "GET",
             self.output_file),
            (rf"/(?P<ws>{_WS})/compare", "GET", self.compare_page),
            (rf"/(?P<ws>{_WS})/assets/(?P<kind>[a-z]+)", "GET", self.assets_page),
            (rf"/(?P<ws>{_WS})/assets/(?P<kind>[a-z]+)/(?P<name>{_NAME})/(?P<version>[^/]+)", "GET",
             self.asset_page),
            (rf"/(?P<ws>{_WS})/endpoints", "GET", self.endpoints_page),
            (rf"/(?P<ws>{_WS})/endpoints/(?P<name>{_NAME})/invoke", "POST", self.invoke),
        )]

    # -- WSGI --------------------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")[len("/studio"):]
        try:
            status, headers, body = self._handle(environ, path)
        except HttpError as exc:  # a bad query parameter
            status, headers, body = exc.status, [("Content-Type", "text/plain; charset=utf-8")], exc.message.encode()
        except Exception as exc:  # noqa: BLE001 - never a traceback to the browser; the log has it
            if not isinstance(exc, Respond):
                log.exception("studio: %s %s failed", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
                exc = Respond(500, f"the studio could not answer: {type(exc).__name__}: {exc}")
            status, headers, body = exc.status, list(exc.headers), exc.text.encode()
            if body and not any(k == "Content-Type" for k, _ in headers):
                headers.append(("Content-Type", "text/plain; charset=utf-8"))
        if isinstance(body, Path):  # a file of a job's output: sent in pieces, never read whole into memory
            length, body = body.stat().st_size, _pieces(body)
        else:
            length, body = len(body), [body]
        headers += [("Content-Length", str(length)), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
                    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' "
                                                "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")]
        if not any(k == "Cache-Control" for k, _ in headers):
            headers.append(("Cache-Control", "no-store"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return body

    def _handle(self, environ, path: str):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if _BAD_PATH.search(path):
            raise Respond(400, "the path may not hold '.' or '..' segments, backslashes or control characters")
        if path == "/login":
            role = self.sessions.redeem(Query(environ.get("QUERY_STRING", "")).get("ticket") or "")
            if role is None:
                raise Respond(401, "this login URL is not valid (it is good once, for an hour): run `azml studio` "
                                   "for a new one")
            cookie = self.sessions.cookie(role, secure=environ.get("wsgi.url_scheme") == "https")  # served --tls
            raise Respond(303, headers=(("Location", "/studio/"), ("Set-Cookie", cookie)))
        role = self.sessions.role(environ.get("HTTP_COOKIE", ""))
        if role is None:
            raise Respond(401, "sign in with the login URL `azml studio` prints")
        if path in ("", "/"):
            raise Respond(303, headers=(("Location", f"/studio/{LOCAL_WORKSPACE}/jobs"),))
        for pattern, allowed, handler in self.routes:
            m = pattern.match(path)
            if m is None:
                continue
            if method != allowed:
                raise Respond(405, f"{method} is not allowed here", (("Allow", allowed),))
            if method != "GET":
                _same_origin(environ)
                if role != CONTRIBUTOR:
                    raise Respond(403, "a reader session may only look: sign in with the contributor's login URL")
            ws = m.groupdict().get("ws")
            if ws is not None and not self.store.open_workspace(ws, self.local.jobs.user):
                raise Respond(404, f"no workspace {ws!r} in this home: `azml workspace list` names them")
            request = {"environ": environ, "query": Query(environ.get("QUERY_STRING", "")), "role": role}
            return handler(request, **m.groupdict())
        raise Respond(404, f"no studio page at {path!r}")

    def _page(self, template: str, request: dict, **values):
        values.setdefault("ws", LOCAL_WORKSPACE)
        body = self.templates.get_template(template).render(role=request["role"], **values).encode()
        return 200, [("Content-Type", "text/html; charset=utf-8")], body

    @staticmethod
    def _json(value):
        return 200, [("Content-Type", "application/json")], json.dumps(value, separators=(",", ":")).encode()

    def rest(self, method: str, path: str, body: dict | None = None, query: dict | None = None):
        """One request to the workspace's REST API, in process -> (status, JSON body or None)."""
        data = b"" if body is None else json.dumps(body).encode()
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                   "QUERY_STRING": urlencode({"api-version": API_VERSION, **(query or {})}),
                   "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)), "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(data)}
        answer = {}
        chunks = self.local(environ, lambda status, headers: answer.update(status=int(status.split()[0])))
        text = b"".join(chunks)
        return answer["status"], (json.loads(text) if text else None)

    def _get(self, path: str, query: dict | None = None) -> dict:
        status, body = self.rest("GET", path, query=query)
        if status == 404:
            raise Respond(404, (body or {}).get("error", {}).get("message", "not found"))
        if status != 200:
            raise Respond(status, json.dumps(body))
        return body

    def _all(self, path: str, query: dict | None = None) -> list[dict]:
        """Every item of a REST list (following nextLink)."""
        found, query = [], dict(query or {})
        while True:
            body = self._get(path, query)
            found += body.get("value", [])
            link = body.get("nextLink")
            if not link:
                return found
            query["$skipToken"] = Query(link.partition("?")[2]).get("$skipToken")

    # -- static files ----------------------------------------------------------------------------------------
    def static(self, request, name):
        path = STATIC / name
        if not path.is_file():
            raise Respond(404, f"no file {name!r}")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return 200, [("Content-Type", kind), ("Cache-Control", "private, max-age=3600")], path.read_bytes()

    # -- jobs ------------------------------------------------------------------------------------------------
    def _job(self, ws: str, record: dict, request: dict) -> dict:
        """A job's REST body, as GET .../jobs/<name> answers it, with what the pages add."""
        body = self.local.arm._job(ws, record, Request(request["environ"], 0))
        props = body["properties"]
        body["started"], body["ended"] = record["started_at"], record["ended_at"]
        body["created"] = record["created_at"]
        body["experiment"] = props.get("experimentName") or DEFAULT_EXPERIMENT
        return body

    def jobs_page(self, request, ws):
        query = request["query"]
        where, args, chosen = [], [], {}
        for key, column, allowed in (("status", "t.status", STATUSES), ("type", "t.job_type", sorted(JOB_REQUIRED))):
            chosen[key] = query.get(key) or ""
            if chosen[key]:
                if chosen[key] not in allowed:
                    raise Respond(400, f"{key} {chosen[key]!r}: expected one of {', '.join(allowed)}")
                where.append(f"{column} = ?")
                args.append(chosen[key])
        experiment = query.get("experiment") or ""
        if experiment:
            where.append("coalesce(json_extract(t.doc, '$.experimentName'), ?) = ?")
            args += [DEFAULT_EXPERIMENT, experiment]
        search = query.get("q") or ""
        if search:
            where.append("(t.name LIKE ? ESCAPE '\\' OR json_extract(t.doc, '$.displayName') LIKE ? ESCAPE '\\')")
            pattern = "%" + re.sub(r"([%_\\])", r"\\\1", search) + "%"
            args += [pattern, pattern]
        try:
            records, token = self.store.list_jobs(ws, Page(PAGE_SIZE, query.get("page")), "All", None, where, args)
        except BadRequest as exc:  # a page token that is not one
            raise Respond(400, str(exc)) from None
        filters = {**chosen, "experiment": experiment, "q": search}
        more = urlencode({**{k: v for k, v in filters.items() if v}, "page": token}) if token else None
        jobs = [self._job(ws, r, request) for r in records]
        return self._page("jobs.html", request, ws=ws, jobs=jobs, filters=filters,
                          statuses=STATUSES, types=sorted(JOB_REQUIRED), next_page=more,
                          first_page=bool(query.get("page")), experiments=self._experiments(ws))

    def _experiments(self, ws: str) -> list[str]:
        rows = self.store.connection().execute(
            "SELECT DISTINCT coalesce(json_extract(doc, '$.experimentName'), ?) AS e FROM jobs WHERE workspace = ? "
            "AND parent IS NULL ORDER BY e LIMIT 500", (DEFAULT_EXPERIMENT, ws))
        return [r["e"] for r in rows]

    def statuses(self, request, ws):
        """{name: [status, duration text]} of the jobs named (`names`, comma-separated): the pages' live part."""
        names = [n for n in (request["query"].get("names") or "").split(",") if n][:500]
        found = {}
        if names:
            marks = ",".join("?" * len(names))
            rows = self.store.connection().execute(
                f"SELECT name, status, started_at, ended_at FROM jobs WHERE workspace = ? AND name IN ({marks})",
                (ws, *names))
            found = {r["name"]: [r["status"], _duration({"started": r["started_at"], "ended": r["ended_at"]})]
                     for r in rows}
        return self._json(found)

    def job_page(self, request, ws, name):
        try:
            record = self.store.get_job(ws, name)
        except NotFound:
            raise Respond(404, f"no job {name!r} in workspace {ws!r}") from None
        job = self._job(ws, record, request)
        props = job["properties"]
        values = {"ws": ws, "job": job, "props": props, "error": job_error(job),
                  "user_props": props.get("properties") or {}, "logs": self._log_files(ws, name),
                  "inputs": [(k, v, self._link(ws, v)) for k, v in (props.get("inputs") or {}).items()],
                  "outputs": self._outputs(ws, name, record),
                  "parent": (props.get("properties") or {}).get("azureml.parentJobName")}
        kind = props.get("jobType")
        overlay = [m for m in request["query"].all("metric") if m]
        if kind == "Sweep":
            view = self._sweep_view(ws, job, request)
            from ...._plot import panels  # import budget: the sweep's pictures, only on a sweep's page
            values.update(sweep=view, panels=panels(view))
        elif kind == "Pipeline":
            values["pipeline"] = True
        else:
            found = chart_points(self.store.home, ws, name)
            values["charts"] = self._charts({name: {k: points for k, (points, _) in found.items()}}, overlay)
            values["metric_names"] = sorted(found)
            values["overlay"] = overlay
            values["last_metrics"] = {k: latest for k, (_, latest) in sorted(found.items())}
        values["children"] = [] if kind == "Sweep" else self._children(ws, name, request)
        return self._page("job.html", request, **values)

    def _charts(self, runs: dict[str, dict], overlay: list[str]) -> list[str]:
        """One chart per metric, every run's line on it; the metrics in `overlay` also share one chart."""
        keys = sorted({k for found in runs.values() for k in found})
        label = (lambda run, key: key) if len(runs) == 1 else (lambda run, key: f"{run}")
        out = []
        if len(overlay) > 1:
            out.append(charts.line_chart(", ".join(overlay), [(f"{key}" if len(runs) == 1 else f"{run}: {key}",
                                                               found.get(key, []))
                                                              for key in overlay for run, found in runs.items()]))
        for key in keys:
            series = [(label(run, key), found[key]) for run, found in runs.items() if key in found]
            out.append(charts.line_chart(key, series))
        return out

    def _children(self, ws: str, name: str, request: dict) -> list[dict]:
        records, _ = self.store.list_jobs(ws, Page(1000, None, ascending=True), "All", name)
        return [self._job(ws, r, request) for r in records]

    def _sweep_view(self, ws: str, job: dict, request: dict) -> SweepView:
        props = job["properties"]
        objective = props.get("objective") or {}
        key = objective.get("primaryMetric", "")
        trials = []
        for child in self._children(ws, job["name"], request):
            user = child["properties"].get("properties") or {}
            found = metrics(self.store.home, ws, child["name"], key).get(key)
            number = user.get(TRIAL_PROPERTY, child["name"].rpartition("_")[2])
            trials.append(Trial(number=int(number) if str(number).isdigit() else -1, name=child["name"],
                                status=child["properties"]["status"],
                                params=json.loads(user.get(TRIAL_PARAMS_PROPERTY) or "{}"),
                                metric=found[-1][1] if found else None,
                                early_terminated=user.get(EARLY_TERMINATED) == "true", error=job_error(child)))
        trials.sort(key=lambda t: t.number)
        return SweepView(name=job["name"], status=props["status"], goal=(objective.get("goal") or "Minimize").lower(),
                         primary_metric=key, parameters=list(props.get("searchSpace") or {}), trials=trials,
                         best_name=(props.get("properties") or {}).get("best_child_run_id"))

    def _link(self, ws: str, value) -> str | None:
        """The studio page of what a job input names (a data asset version, another job's output)."""
        uri = value.get("uri") if isinstance(value, dict) else None
        if not uri:
            return None
        m = JOB_OUTPUT_URI.match(uri)
        if m:
            return f"/studio/{ws}/jobs/{quote(m.group('name'))}"
        m = ASSET_ID.match(uri)
        if m and m.group("kind") in ASSET_KINDS and m.group("version"):
            return f"/studio/{ws}/assets/{m.group('kind')}/{quote(m.group('name'))}/{quote(m.group('version'))}"
        return None

    def _outputs(self, ws: str, name: str, record: dict) -> list[tuple[str, list[str]]]:
        """Each output (and the artifacts) with up to 200 of its files, once the job has Completed."""
        if record["status"] != "Completed":
            return []
        refs, found = References(self.store, ws), []
        for output in ["artifacts", *sorted(record["doc"].get("outputs") or {})]:
            try:
                root = refs.job_output(name, output, f"output {output!r}")
            except RefError:
                continue
            files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())[:200] \
                if root.is_dir() else ([""] if root.is_file() else [])
            found.append((output, files))
        return found

    def output_file(self, request, ws, name, output, path):
        try:
            root = References(self.store, ws).job_output(name, output, f"output {output!r}")
        except RefError as exc:
            raise Respond(404, str(exc)) from None
        target = (root / path).resolve()
        if not target.is_file() or not target.is_relative_to(root.resolve()):
            raise Respond(404, f"no file {path!r} in output {output!r}")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return 200, [("Content-Type", kind), ("Content-Disposition", f"attachment; filename*=UTF-8''"
                                                                     f"{quote(target.name)}")], target

    def _log_files(self, ws: str, name: str) -> list[str]:
        folder = self.store.job_folder(ws, name) / "user_logs"
        files = sorted(p.name for p in folder.glob("*.txt")) if folder.is_dir() else []
        return sorted(files, key=lambda f: (f != "std_log.txt", f))

    def log(self, request, ws, name):
        """{text, offset, status}: the log `file` from byte `offset` on (the last LOG_CHUNK bytes at first)."""
        query = request["query"]
        file = query.get("file") or "std_log.txt"
        if file not in self._log_files(ws, name):
            return self._json({"text": "", "offset": 0, "status": self.store.get_job(ws, name)["status"]})
        path = self.store.job_folder(ws, name) / "user_logs" / file
        size = path.stat().st_size
        offset = query.integer("offset", 0) if query.get("offset") else max(0, size - LOG_CHUNK)
        with open(path, "rb") as fh:
            fh.seek(min(offset, size))
            data = fh.read(LOG_CHUNK)
        return self._json({"text": data.decode("utf-8", "replace"), "offset": min(offset, size) + len(data),
                           "status": self.store.get_job(ws, name)["status"]})

    def graph(self, request, ws, name):
        """A pipeline's nodes (type, status, reused, child job) and edges (output port -> input port)."""
        record = self.store.get_job(ws, name)
        nodes = record["doc"].get("jobs") or {}
        children = {(c["properties"].get("properties") or {}).get(NODE_PROPERTY): c
                    for c in self._children(ws, name, request)}
        out_nodes, edges = [], []
        for node, spec in nodes.items():
            child = children.get(node)
            user = (child or {}).get("properties", {}).get("properties") or {}
            out_nodes.append({"id": node, "type": spec.get("type", "command"),
                              "status": child["properties"]["status"] if child else "NotStarted",
                              "reused": user.get(REUSED_PROPERTY) == "true",
                              "job": child["name"] if child else None,
                              "href": f"/studio/{ws}/jobs/{quote(child['name'])}" if child else None})
            for port, value in (spec.get("inputs") or {}).items():
                path = binding(value.get("value") if isinstance(value, dict) else value)
                if path and len(path) == 4 and path[0] == "jobs" and path[1] in nodes:
                    edges.append({"from": path[1], "to": node, "label": f"{path[3]} \u2192 {port}"})
        return self._json({"status": record["status"], "nodes": out_nodes, "edges": edges})

    def cancel(self, request, ws, name):
        status, body = self.rest("POST", f"{workspace_id(ws)}/jobs/{name}/cancel")
        if status >= 400:
            raise Respond(status, (body or {}).get("error", {}).get("message", "the job could not be canceled"))
        raise Respond(303, headers=(("Location", f"/studio/{ws}/jobs/{quote(name)}"),))

    # -- compare ---------------------------------------------------------------------------------------------
    def compare_page(self, request, ws):
        names = [n for value in request["query"].all("run") for n in value.split(",") if n][:10]
        jobs = []
        for name in names:
            try:
                jobs.append(self._job(ws, self.store.get_job(ws, name), request))
            except NotFound:
                raise Respond(404, f"no job {name!r} in workspace {ws!r}") from None
        params = sorted({k for j in jobs for k in _parameters(j)})
        runs = {j["name"]: chart_points(self.store.home, ws, j["name"]) for j in jobs}
        last = sorted({k for found in runs.values() for k in found})
        return self._page("compare.html", request, ws=ws, jobs=jobs, params=params,
                          values={j["name"]: _parameters(j) for j in jobs}, metric_names=last,
                          last={run: {k: latest for k, (_, latest) in found.items()} for run, found in runs.items()},
                          charts=self._charts({run: {k: points for k, (points, _) in found.items()}
                                               for run, found in runs.items()}, []) if jobs else [])

    # -- assets and endpoints --------------------------------------------------------------------------------
    def assets_page(self, request, ws, kind):
        if kind not in ASSET_KINDS:
            raise Respond(404, f"no asset kind {kind!r}: expected one of {', '.join(ASSET_KINDS)}")
        base = f"{workspace_id(ws)}/{kind}"
        assets = []
        for container in self._all(base):
            versions = self._all(f"{base}/{container['name']}/versions")
            assets.append((container, versions))
        return self._page("assets.html", request, ws=ws, kind=kind, kinds=ASSET_KINDS, assets=assets)

    def asset_page(self, request, ws, kind, name, version):
        if kind not in ASSET_KINDS:
            raise Respond(404, f"no asset kind {kind!r}")
        body = self._get(f"{workspace_id(ws)}/{kind}/{name}/versions/{version}")
        import yaml  # import budget: PyYAML, only for an asset's page

        text = yaml.safe_dump({"name": name, "version": version, **_yaml_form(body["properties"])},
                              sort_keys=False, allow_unicode=True)
        return self._page("asset.html", request, ws=ws, kind=kind, name=name, version=version, yaml=text,
                          kinds=ASSET_KINDS)

    def endpoints_page(self, request, ws):
        found = []
        for kind, collection in ENDPOINT_COLLECTIONS.items():
            for endpoint in self._all(f"{workspace_id(ws)}/{collection}"):
                deployments = self._all(f"{workspace_id(ws)}/{collection}/{endpoint['name']}/deployments")
                found.append((kind, endpoint, deployments))
        return self._page("endpoints.html", request, ws=ws, endpoints=found, kinds=ASSET_KINDS)

    def invoke(self, request, ws, name):
        """Send the JSON body to the online endpoint's scoring URI with its key -> the scoring answer."""
        data = read_body(request["environ"], 1024 * 1024)
        try:
            json.loads(data)
        except ValueError as exc:
            return self._json({"status": 400, "answer": f"the request is not JSON: {exc}"})
        collection = ENDPOINT_COLLECTIONS["online"]
        endpoint = self._get(f"{workspace_id(ws)}/{collection}/{name}")
        uri = endpoint["properties"].get("scoringUri")
        status, keys = self.rest("POST", f"{workspace_id(ws)}/{collection}/{name}/listKeys")
        if not uri or status != 200:
            return self._json({"status": 409, "answer": f"endpoint {name!r} has no scoring URI yet"})
        import urllib.error  # import budget: only invoking an endpoint sends a request
        import urllib.request  # import budget: as above

        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {keys.get('primaryKey', '')}"}
        deployment = request["query"].get("deployment")
        if deployment:
            headers["azureml-model-deployment"] = deployment
        started = time.monotonic()
        try:
            with urllib.request.urlopen(urllib.request.Request(uri, data=data, headers=headers), timeout=60) as resp:
                status, answer = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        except OSError as exc:
            status, answer = 502, str(exc).encode()
        return self._json({"status": status, "answer": answer.decode("utf-8", "replace"),
                           "ms": round((time.monotonic() - started) * 1000)})


def _same_origin(environ) -> None:
    """A write must come from the studio's own pages (the cookie is SameSite=Strict; this also refuses a browser
    that says the request crossed sites)."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    origin = environ.get("HTTP_ORIGIN")
    host = environ.get("HTTP_HOST", "")
    if site not in (None, "same-origin") or origin and origin.partition("://")[2] != host:
        raise Respond(403, "a studio write must come from the studio's own pages")


def _parameters(job: dict) -> dict:
    """What a run was given: its literal inputs, else its sweep parameters."""
    props = job["properties"]
    found = {k: v.get("value") for k, v in (props.get("inputs") or {}).items()
             if isinstance(v, dict) and v.get("jobInputType") == "literal"}
    found.update(json.loads((props.get("properties") or {}).get(TRIAL_PARAMS_PROPERTY) or "{}"))
    return found


def _yaml_form(props: dict) -> dict:
    """An asset version's properties as its YAML names them (snake_case), without what the service adds."""
    skip = {"provisioningState", "isArchived", "isAnonymous", "autoDeleteSetting", "stage"}
    renamed = {"modelUri": "path", "codeUri": "path", "dataUri": "path", "dataType": "type", "modelType": "type"}
    return {renamed.get(k) or re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in props.items()
            if k not in skip and v not in (None, {}, [])}


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _duration(job: dict) -> str:
    """How long a job ran (or has been running)."""
    start = _parse(job.get("started"))
    if start is None:
        return ""
    end = _parse(job.get("ended")) or datetime.now(timezone.utc)
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s" if rest >= 60 else f"{rest}s"


def _when(stamp: str | None) -> str:
    moment = _parse(stamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _pieces(path: Path, size: int = 1024 * 1024):
    """The bytes of file `path`, `size` at a time."""
    with open(path, "rb") as f:
        while True:
            piece = f.read(size)
            if not piece:
                return
            yield piece
