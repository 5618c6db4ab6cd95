"""The studio in-process: signing in, what its pages show, who may write, and the charts' downsampling. The browser
tests (tests/integration/studio) run it served, in Chromium."""
from __future__ import annotations

import html
import io
import json
import math
import re
import sqlite3
import time
from wsgiref.util import setup_testing_defaults

import pytest

from azureml_v2._contract import job_artifacts_path
from azureml_v2.local import make_app
from azureml_v2.local.api.studio import with_studio
from azureml_v2.local.api.studio.auth import COOKIE, Sessions, ticket
from azureml_v2.local.api.studio.charts import downsample, line_chart
from azureml_v2.local.core import metrics as tracking
from azureml_v2.local.storage.tracking import TrackingStore

WS = "local"
TOKENS = {"contributor": "c-token", "reader": "r-token"}


class Browser:
    """Calls the studio's WSGI app as a browser would: keeps the cookie the login sets."""

    def __init__(self, app):
        self.app, self.cookie = app, None

    def request(self, path: str, method: str = "GET", body: bytes = b"", headers: dict | None = None):
        path, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO(body),
                   "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:80"}
        if self.cookie:
            environ["HTTP_COOKIE"] = self.cookie
        environ.update(headers or {})
        setup_testing_defaults(environ)
        answer = {}
        data = b"".join(self.app(environ, lambda s, h: answer.update(status=int(s.split()[0]), headers=h)))
        headers = dict(answer["headers"])
        if "Set-Cookie" in headers:
            self.cookie = headers["Set-Cookie"].split(";")[0]
        return answer["status"], headers, data.decode()

    def login(self, role: str = "contributor"):
        return self.request(f"/studio/login?ticket={ticket(TOKENS[role], role)}")


@pytest.fixture
def local(tmp_path):
    app = make_app(tmp_path / "home", run_jobs=False, user="tester")
    app.store.ensure_workspace(WS, "tester")
    yield app
    app.close()


@pytest.fixture
def browser(local):
    def api(environ, start_response):  # the REST API behind the studio: not reached through /studio
        start_response("418 I'm a teapot", [])
        return [b"api"]

    return Browser(with_studio(api, local, TOKENS))


def _job(local, name: str, status: str = "Running", **doc) -> None:
    body = {"jobType": "Command", "command": "python train.py", "experimentName": "exp", "tags": {"team": "ui"},
            "environmentId": "azureml:AzureML-sklearn-1.5@latest", **doc}
    local.store.put_job(WS, name, body, "tester", mutable=frozenset())
    for step in ("Queued", "Preparing", "Running", "Finalizing", "Completed"):
        if local.store.get_job(WS, name)["status"] == status:
            break
        local.store.set_job_status(WS, name, step)


# -- signing in ---------------------------------------------------------------------------------------------
def test_a_login_ticket_works_once_and_sets_a_strict_http_only_cookie(browser):
    assert browser.request("/studio/local/jobs")[0] == 401
    link = f"/studio/login?ticket={ticket(TOKENS['contributor'])}"
    status, headers, _ = browser.request(link)
    assert status == 303 and headers["Location"] == "/studio/"
    assert re.fullmatch(rf"{COOKIE}=contributor\.\d+\.[0-9a-f]{{64}}; Path=/studio; Max-Age=\d+; HttpOnly; "
                        r"SameSite=Strict", headers["Set-Cookie"])
    assert browser.request("/studio/local/jobs")[0] == 200
    browser.cookie = None
    assert browser.request(link)[0] == 401  # used
    assert browser.request("/subscriptions/x")[2] == "api"  # the REST API is not the studio's


def test_a_workspace_the_home_does_not_hold_is_404_not_an_empty_page(browser, local):
    browser.login()
    status, _, text = browser.request("/studio/locla/jobs")
    assert status == 404 and "no workspace 'locla'" in text
    assert [r["name"] for r in local.store.list_workspaces()] == ["local"]


def test_over_https_the_session_cookie_is_secure_too(browser):
    status, headers, _ = browser.request(f"/studio/login?ticket={ticket(TOKENS['contributor'])}",
                                         headers={"wsgi.url_scheme": "https"})
    assert status == 303
    assert headers["Set-Cookie"].endswith("; HttpOnly; SameSite=Strict; Secure")
    assert browser.request("/studio/local/jobs", headers={"wsgi.url_scheme": "https"})[0] == 200


def test_a_ticket_or_cookie_signed_with_another_token_or_expired_is_refused():
    sessions = Sessions(TOKENS)
    assert sessions.redeem(ticket("other-token")) is None
    assert sessions.redeem(ticket(TOKENS["contributor"], now=time.time() - 7200)) is None
    assert sessions.redeem(ticket(TOKENS["reader"], "reader")) == "reader"
    assert sessions.redeem("contributor.1.2") is None
    cookie = sessions.cookie("reader").split(";")[0]
    assert sessions.role(f"a=b; {cookie}") == "reader"
    assert sessions.role(cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) is None
    assert sessions.role(cookie.replace(".reader", ".contributor").replace("=reader", "=contributor")) is None
    assert Sessions({"contributor": "new-token"}).role(cookie) is None  # a new token ends the sessions


# -- pages --------------------------------------------------------------------------------------------------
def test_the_jobs_page_lists_filters_searches_and_pages(browser, local):
    browser.login()
    for n in range(60):
        _job(local, f"job-{n:02d}", "Completed" if n % 2 else "Running", displayName=f"run {n}")
    status, _, page = browser.request("/studio/local/jobs")
    names = re.findall(r'<tr data-job="([^"]+)"', page)
    assert status == 200 and names == [f"job-{n:02d}" for n in range(59, 9, -1)]  # newest first, 50 a page
    assert "team=ui" in page and "exp" in page
    older = re.search(r'rel="next" href="\?([^"]+)"', page).group(1).replace("&amp;", "&")
    assert re.findall(r'<tr data-job="([^"]+)"', browser.request(f"/studio/local/jobs?{older}")[2]) == \
        [f"job-{n:02d}" for n in range(9, -1, -1)]
    running = re.findall(r'<tr data-job="([^"]+)"', browser.request("/studio/local/jobs?status=Running")[2])
    assert len(running) == 30 and all(int(n[-2:]) % 2 == 0 for n in running)
    assert re.findall(r'<tr data-job="([^"]+)"', browser.request("/studio/local/jobs?q=run%2042")[2]) == ["job-42"]
    assert re.findall(r'<tr data-job="([^"]+)"', browser.request("/studio/local/jobs?q=%25")[2]) == []
    assert browser.request("/studio/local/jobs?experiment=other")[2].count("<tr data-job") == 0
    assert browser.request("/studio/local/jobs?status=Done")[0] == 400
    assert browser.request("/studio/local/jobs?page=bogus")[0] == 400
    live = json.loads(browser.request("/studio/local/statuses?names=job-01,job-02,nope")[2])
    assert {k: v[0] for k, v in live.items()} == {"job-01": "Completed", "job-02": "Running"}


def test_a_job_page_shows_its_command_inputs_metrics_and_log(browser, local, tmp_path):
    browser.login()
    _job(local, "train", inputs={"lr": {"jobInputType": "literal", "value": "0.1"},
                                 "data": {"jobInputType": "uri_folder", "uri": "azureml://jobs/prep/outputs/out"}})
    tracking.ensure_run(local.store.home, WS, "train", "exp", tmp_path / "artifacts")
    tracking.tracking_store(local.store.home).log_batch(WS, "train", metrics_=[
        {"key": "loss", "value": 1 / (i + 1), "step": i, "timestamp": 1000 + i} for i in range(30)])
    logs = local.store.job_folder(WS, "train") / "user_logs"
    logs.mkdir(parents=True)
    (logs / "std_log.txt").write_text("epoch 1\nepoch 2\n")
    status, _, page = browser.request("/studio/local/jobs/train")
    assert status == 200 and "python train.py" in page and 'href="/studio/local/jobs/prep"' in page
    data = json.loads(html.unescape(re.search(r'data-points="([^"]+)"', page).group(1)))
    assert [p[:2] for p in data[0]["points"]] == [[i, 1 / (i + 1)] for i in range(30)]
    tail = json.loads(browser.request("/studio/local/jobs/train/log")[2])
    assert tail["text"] == "epoch 1\nepoch 2\n" and tail["status"] == "Running"
    more = json.loads(browser.request(f"/studio/local/jobs/train/log?offset={tail['offset']}")[2])
    assert more["text"] == ""
    status, _, text = browser.request("/studio/local/jobs/train/log?offset=-5")
    assert status == 400 and "offset='-5': expected an integer >= 0" in text
    assert browser.request("/studio/local/jobs/nope")[0] == 404
    assert browser.request("/studio/local/jobs/train/outputs/artifacts/..%2F..%2Fworkspace.db")[0] == 404


def test_writes_need_a_contributor_session_from_the_studio_itself(browser, local):
    _job(local, "long")
    browser.login("reader")
    assert browser.request("/studio/local/jobs/long/cancel", "POST")[0] == 403
    browser.login()
    cross = {"HTTP_ORIGIN": "http://evil.example", "HTTP_SEC_FETCH_SITE": "cross-site"}
    assert browser.request("/studio/local/jobs/long/cancel", "POST", headers=cross)[0] == 403
    assert local.store.get_job(WS, "long")["status"] == "Running"
    status, headers, _ = browser.request("/studio/local/jobs/long/cancel", "POST",
                                         headers={"HTTP_ORIGIN": "http://127.0.0.1:80"})
    assert status == 303 and local.store.get_job(WS, "long")["status"] == "CancelRequested"
    assert browser.request("/studio/local/jobs/long/cancel")[0] == 405


def test_a_pipeline_graph_names_its_nodes_edges_and_their_jobs(browser, local):
    browser.login()
    binding = {"job_input_type": "literal", "value": "${{parent.jobs.prep.outputs.out}}"}
    _job(local, "pipe", jobType="Pipeline", jobs={"prep": {"type": "command"},
                                                   "train": {"type": "command", "inputs": {"data": binding}}})
    local.store.put_job(WS, "pipe_prep", {"jobType": "Command", "properties": {"azureml.nodeid": "prep",
                                                                                "azureml.isreused": "true"}},
                        "tester", mutable=frozenset(), parent="pipe", status="Completed")
    graph = json.loads(browser.request("/studio/local/jobs/pipe/graph")[2])
    assert [(n["id"], n["status"], n["reused"], n["job"]) for n in graph["nodes"]] == [
        ("prep", "Completed", True, "pipe_prep"), ("train", "NotStarted", False, None)]
    assert graph["edges"] == [{"from": "prep", "to": "train", "label": "out \u2192 data"}]


def test_asset_and_endpoint_pages_read_the_rest_api(browser, local, tmp_path):
    browser.login()
    folder = tmp_path / "model"
    folder.mkdir()
    status, _ = browser.app.studio.rest("PUT", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                                        "local/providers/Microsoft.MachineLearningServices/workspaces/local/models/"
                                        "tiny/versions/3", {"properties": {"modelUri": str(folder),
                                                                          "modelType": "custom_model"}})
    assert status == 201
    page = browser.request("/studio/local/assets/models")[2]
    assert 'href="/studio/local/assets/models/tiny/3"' in page
    page = browser.request("/studio/local/assets/models/tiny/3")[2]
    assert "name: tiny\nversion: &#39;3&#39;\ntype: custom_model\npath: " in page
    assert browser.request("/studio/local/assets/secrets")[0] == 404
    assert "No endpoint yet" in browser.request("/studio/local/endpoints")[2]


# -- charts -------------------------------------------------------------------------------------------------
def test_a_long_metric_is_charted_from_its_tiles_with_every_extreme_and_an_old_home_gets_them(browser, local,
                                                                                             tmp_path):
    """Past 20,000 points the job page reads a metric's tiles, not its points: what it draws are logged points, its
    spike and dip among them; a home whose metrics were logged before tiles were kept gets them when opened."""
    points = [(i, math.sin(i / 500)) for i in range(0, 75_000, 3)]  # 25,000 points
    points[4_321] = (points[4_321][0], -75.0)  # a dip
    points[20_000] = (points[20_000][0], 60.0)  # a spike
    points[10] = (points[10][0], math.inf)
    tracking.ensure_run(local.store.home, WS, "long", "exp", tmp_path / "artifacts")
    store = tracking.tracking_store(local.store.home)
    for start in range(0, len(points), 1000):
        store.log_batch(WS, "long", metrics_=[{"key": "acc", "value": v, "step": s, "timestamp": s}
                                              for s, v in points[start:start + 1000]])
    store.log_batch(WS, "long", metrics_=[{"key": "lr", "value": 0.1, "step": 0, "timestamp": 0}])
    found = tracking.chart_points(local.store.home, WS, "long")
    assert found["lr"] == ([(0, 0.1)], 0.1)
    drawn, latest = found["acc"]
    finite = [p for p in points if math.isfinite(p[1])]
    assert latest == points[-1][1] and 1200 <= len(drawn) <= 4 * 1200 < len(finite)
    assert drawn == sorted(drawn) and set(drawn) <= set(finite)
    assert {finite[0], finite[-1], points[4_321], points[20_000]} <= set(drawn)
    _job(local, "long")
    browser.login()
    page = browser.request("/studio/local/jobs/long")[2]
    charted = json.loads(html.unescape(re.search(r'data-points="([^"]+)"', page).group(1)))[0]["points"]
    assert len(charted) <= 1200 and [points[4_321][0], -75.0] in [p[:2] for p in charted]

    db = local.store.home / "tracking.db"  # as a home of the release before tiles
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE metric_tiles")
        conn.execute("PRAGMA user_version = 1")
    assert TrackingStore(local.store.home).summary(WS, "long") == found


def test_downsampling_keeps_logged_points_and_every_extreme():
    points = [(i, math.sin(i / 500)) for i in range(100_000)]
    points[12_345] = (12_345, 50.0)  # a spike
    points[777] = (777, math.nan)
    drawn = downsample(points)
    assert len(drawn) <= 1200 and set(drawn) <= set(points)
    assert (12_345, 50.0) in drawn and min(drawn, key=lambda p: p[1]) == min(
        (p for p in points if not math.isnan(p[1])), key=lambda p: p[1])
    assert drawn[0] == points[0] and drawn[-1] == points[-1]
    assert downsample([(3, 1.0), (1, 2.0)]) == [(1, 2.0), (3, 1.0)]
    assert "no finite values" in line_chart("x", [("x", [(0, math.inf)])])


def test_an_output_file_is_sent_in_pieces_not_read_whole_into_memory(browser, local):
    """A job's 5 MB output file downloads whole, but the server never holds more than a piece of it at a time
    (a 10 GB model would otherwise be read into the server's memory at one click)."""
    browser.login("reader")
    _job(local, "big", "Completed")
    folder = local.store.datastore_folder("workspaceartifactstore") / job_artifacts_path("big") / "outputs"
    folder.mkdir(parents=True)
    data = bytes(range(256)) * (5 * 4096)
    (folder / "model.bin").write_bytes(data)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/studio/local/jobs/big/outputs/artifacts/outputs/model.bin",
               "QUERY_STRING": "", "HTTP_COOKIE": browser.cookie, "wsgi.input": io.BytesIO(b"")}
    setup_testing_defaults(environ)
    answer = {}
    pieces = list(browser.app(environ, lambda status, headers: answer.update(status=status, headers=dict(headers))))
    assert answer["status"].startswith("200") and answer["headers"]["Content-Length"] == str(len(data))
    assert b"".join(pieces) == data and max(len(p) for p in pieces) <= 1024 * 1024
