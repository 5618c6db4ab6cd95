"""The local workspace's Blob service (what azure-storage-blob calls to upload to, list and read a datastore), the
code version's startPendingUpload with its SAS, and the run history's log URLs, in-process through WSGI."""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import pytest
from support.local import Client
from support.local import wsgi_call as call

from azureml_v2.local import make_app
from azureml_v2.local.api import blob
from azureml_v2.local.api.http import require_token

ACCOUNT = "/blob/local"


@pytest.fixture
def app(home):
    app = make_app(home, user="tester", run_jobs=False)
    assert Client(app).get("/datastores").status == 200  # the workspace, made on first use, and its datastores
    yield app
    app.close()


def listing(app, container, **params):
    response = call(app, "GET", f"{ACCOUNT}/{container}", query=urlencode({"restype": "container", "comp": "list",
                                                                           **params}))
    assert response.status == 200, response.body
    root = ET.fromstring(response.body)
    return ([b.findtext("Name") for b in root.iter("Blob")], [p.findtext("Name") for p in root.iter("BlobPrefix")],
            root.findtext("NextMarker"), root)


def test_a_put_blob_lands_in_the_datastore_folder_and_reads_back(app, home):
    data = b"a,b\n1,2\n"
    put = call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/LocalUpload/x/iris.csv", data,
               headers={"x-ms-blob-type": "BlockBlob", "x-ms-meta-name": "iris",
                        "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
    assert put.status == 201 and put.headers["ETag"]
    assert (home / "datastores/workspaceblobstore/LocalUpload/x/iris.csv").read_bytes() == data
    head = call(app, "HEAD", f"{ACCOUNT}/workspaceblobstore/LocalUpload/x/iris.csv")
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == str(len(data))
    assert head.headers["x-ms-meta-name"] == "iris" and head.headers["ETag"] == put.headers["ETag"]
    got = call(app, "GET", f"{ACCOUNT}.blob.core.windows.net/workspaceblobstore/LocalUpload/x/iris.csv",
               headers={"x-ms-range": "bytes=2-"})  # the account as azure-ai-ml spells it
    assert got.status == 206 and got.body == data[2:] and got.headers["Content-Range"] == f"bytes 2-7/{len(data)}"
    # overwrite=False is If-None-Match: *
    again = call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/LocalUpload/x/iris.csv", b"other",
                 headers={"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"})
    assert again.status == 409 and again.headers["x-ms-error-code"] == "BlobAlreadyExists"
    bad_md5 = call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/y.csv", data, headers={"Content-MD5": "AAAA"})
    assert bad_md5.status == 400 and b"Md5Mismatch" in bad_md5.body
    missing = call(app, "HEAD", f"{ACCOUNT}/workspaceblobstore/nothing.csv")
    assert missing.status == 404 and missing.headers["x-ms-error-code"] == "BlobNotFound" and missing.body == b""


def test_blocks_are_committed_in_the_listed_order_and_only_then_visible(app, home):
    path = f"{ACCOUNT}/workspaceblobstore/big/model.bin"
    for block_id, data in (("Yg==", b"second-"), ("YQ==", b"first-")):
        assert call(app, "PUT", path, data, query=urlencode({"comp": "block", "blockid": block_id})).status == 201
    assert call(app, "HEAD", path).status == 404
    assert listing(app, "workspaceblobstore", prefix="big/")[0] == []
    block_list = b'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>YQ==</Latest><Latest>Yg==</Latest>' \
                 b'</BlockList>'
    assert call(app, "PUT", path, block_list, query="comp=blocklist").status == 201
    assert (home / "datastores/workspaceblobstore/big/model.bin").read_bytes() == b"first-second-"
    # a client that lost the answer commits again: its blocks are committed, the retry succeeds and changes nothing
    retry = call(app, "PUT", path, block_list, query="comp=blocklist")
    assert retry.status == 201 and retry.headers["ETag"] == call(app, "HEAD", path).headers["ETag"]
    assert (home / "datastores/workspaceblobstore/big/model.bin").read_bytes() == b"first-second-"
    unknown = call(app, "PUT", path, b"<BlockList><Latest>eg==</Latest></BlockList>", query="comp=blocklist")
    assert unknown.status == 400 and b"InvalidBlockList" in unknown.body


def test_list_blobs_pages_by_marker_and_folds_folders_at_the_delimiter(app):
    for name in ("run/a.txt", "run/b.txt", "run/logs/1.txt", "run/logs/2.txt", "other.txt"):
        call(app, "PUT", f"{ACCOUNT}/workspaceartifactstore/{name}", b"x")
    call(app, "PUT", f"{ACCOUNT}/workspaceartifactstore/run/a.txt", b"", query="comp=metadata",
         headers={"x-ms-meta-status": "done"})
    names, _, marker, _ = listing(app, "workspaceartifactstore", prefix="run/", maxresults="3")
    assert names == ["run/a.txt", "run/b.txt", "run/logs/1.txt"] and marker == "run/logs/1.txt"
    assert listing(app, "workspaceartifactstore", prefix="run/", marker=marker)[0] == ["run/logs/2.txt"]
    names, prefixes, _, _ = listing(app, "workspaceartifactstore", prefix="run/", delimiter="/")
    assert names == ["run/a.txt", "run/b.txt"] and prefixes == ["run/logs/"]
    *_, root = listing(app, "workspaceartifactstore", prefix="run/a", include="metadata")
    assert root.find("Blobs/Blob/Metadata/status").text == "done"


def test_unknown_containers_and_paths_outside_the_datastore_are_refused(app):
    assert call(app, "GET", f"{ACCOUNT}/nosuch", query="restype=container&comp=list").status == 404
    assert call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/a/../../escape.txt", b"x").status == 400


def test_a_pending_upload_is_a_container_with_a_sas_that_grants_it_alone(app, home, rest_response):
    client = Client(app)
    answer = client.post("/codes/src/versions/1/startPendingUpload",
                         body={"pendingUploadType": "TemporaryBlobReference"}).json
    assert rest_response(answer, "PendingUploadResponseDto") == []
    reference = answer["blobReferenceForConsumption"]
    sas_url = urlsplit(reference["credential"]["sasUri"])
    assert reference["credential"]["credentialType"] == "SAS" and sas_url.path == urlsplit(reference["blobUri"]).path
    guarded = require_token(app, "contributor-token", "reader-token",
                            signed=functools.partial(blob.sas_allows, home))
    put = call(guarded, "PUT", f"{sas_url.path}/src/main.py", b"print(1)", query=sas_url.query)
    assert put.status == 201
    container = sas_url.path.rsplit("/", 1)[1]
    assert (home / "datastores/workspaceblobstore/LocalUpload" / container.removeprefix("upload-") /
            "src/main.py").read_bytes() == b"print(1)"
    # the SAS opens its container only, unchanged, and not without a signature
    other = call(guarded, "PUT", f"{ACCOUNT}/workspaceblobstore/main.py", b"x", query=sas_url.query)
    tampered = dict(parse_qsl(sas_url.query), sp="racwld")
    for status in (other.status, call(guarded, "DELETE", f"{sas_url.path}/src/main.py", query=urlencode(tampered)
                                      ).status, call(guarded, "PUT", f"{sas_url.path}/src/x.py", b"x").status):
        assert status == 401
    # the code version names the upload by its blob URI: kept as the datastore path it landed in
    code = client.put("/codes/src/versions/1", {"properties": {"codeUri": reference["blobUri"] + "/src"}}).json
    assert code["properties"]["codeUri"] == ("azureml://datastores/workspaceblobstore/paths/LocalUpload/"
                                             f"{container.removeprefix('upload-')}/src")
    refused = client.post("/codes/src/versions/1/startPendingUpload", body={"pendingUploadType": "None", "x": 1})
    assert refused.status == 400


def test_local_datastores_name_the_blob_endpoint_as_their_account_and_numbers_in_properties_are_text(app):
    client = Client(app)
    store = client.get("/datastores/workspaceblobstore").json["properties"]
    assert store["accountName"] == "127.0.0.1/blob/local"  # https://<accountName>.blob.<suffix> reaches it
    assert client.put("/datastores/workspaceblobstore", {"properties": store}).status == 200
    code = client.put("/codes/c/versions/1", {"properties": {"codeUri": "azureml://datastores/workspaceblobstore/"
                                                             "paths/c", "properties": {"hash_version": 202208}}})
    assert code.status == 201 and code.json["properties"]["properties"]["hash_version"] == "202208"


def test_run_details_hand_out_the_jobs_logs_by_signed_urls_of_that_job_alone(app, home, rest_response):
    client = Client(app)
    for name in ("first", "second"):
        assert client.put(f"/jobs/{name}", {"properties": {"jobType": "Command", "command": "echo hi",
                                                           "environmentId": "azureml:env:1"}}).status == 201
        log = app.store.job_folder("local", name) / "user_logs" / "std_log.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"hello from {name}\n")
    job = client.get("/jobs/first").json
    assert rest_response(job, "JobBaseResource") == []
    assert {k: v["jobServiceType"] for k, v in job["properties"]["services"].items()} == {
        "Tracking": "Tracking", "Studio": "Studio"}
    history = "/history/v1.0" + job["id"].rsplit("/jobs/", 1)[0]
    details = call(app, "GET", f"{history}/runs/first/details")
    assert details.status == 200
    details = json.loads(details.body)
    assert details["runId"] == "first" and details["status"] == "NotStarted"
    url = urlsplit(details["logFiles"]["user_logs/std_log.txt"])
    guarded = require_token(app, "contributor-token", signed=functools.partial(blob.sas_allows, home))
    got = call(guarded, "GET", unquote(url.path), query=url.query)
    assert got.status == 200 and got.body == b"hello from first\n"
    other = unquote(url.path).replace("/first/", "/second/")
    assert call(guarded, "GET", other, query=url.query).status == 401
    written = call(guarded, "PUT", unquote(url.path), b"x", headers={"Authorization": "Bearer contributor-token"})
    assert written.status == 403
    assert call(app, "GET", f"{history}/runs/nosuch/details").status == 404


def test_a_blob_name_naming_an_absolute_path_reaches_no_file_outside_the_container(app, home, tmp_path):
    """`<container>//etc/passwd` (or `%2F` decoded to `/`) is no way out of the container, with a SAS or a token."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    answer = Client(app).post("/codes/src/versions/1/startPendingUpload", body={}).json
    sas = urlsplit(answer["blobReferenceForConsumption"]["credential"]["sasUri"])
    guarded = require_token(app, "contributor-token", "reader-token", signed=functools.partial(blob.sas_allows, home))
    reader = {"Authorization": "Bearer reader-token"}
    for response in (call(guarded, "GET", f"{sas.path}/{outside}/secret.txt", query=sas.query),
                     call(guarded, "GET", f"{ACCOUNT}/$runs/{outside}/secret.txt", headers=reader),
                     call(guarded, "HEAD", f"{ACCOUNT}/workspaceblobstore/folder/", headers=reader)):
        assert response.status == 404 and response.headers["x-ms-error-code"] == "BlobNotFound"
    for response in (call(guarded, "PUT", f"{sas.path}/{outside}/planted.txt", b"x", query=sas.query),
                     call(guarded, "PUT", f"{ACCOUNT}/workspaceblobstore/a//b.txt", b"x",
                          headers={"Authorization": "Bearer contributor-token"})):
        assert response.status == 400 and response.headers["x-ms-error-code"] == "InvalidUri"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    # nor does a listing's prefix walk out of the container: nothing outside matches it
    call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/inside.txt", b"x")
    for prefix in ("../", "../../", f"{outside}/", "a/../../"):
        assert listing(app, "workspaceblobstore", prefix=prefix)[:2] == ([], [])


def test_a_range_that_ends_before_it_starts_is_refused(app):
    call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/digits.txt", b"0123456789")
    got = call(app, "GET", f"{ACCOUNT}/workspaceblobstore/digits.txt", headers={"x-ms-range": "bytes=5-2"})
    assert got.status == 416 and got.headers["x-ms-error-code"] == "InvalidRange"


def test_metadata_names_that_are_no_identifiers_are_refused_so_listings_stay_xml(app):
    bad = call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/m.txt", b"x", headers={"x-ms-meta-1st": "v"})
    assert bad.status == 400 and bad.headers["x-ms-error-code"] == "InvalidMetadata" and b"1st" in bad.body
    assert call(app, "HEAD", f"{ACCOUNT}/workspaceblobstore/m.txt").status == 404  # nothing was written
    assert call(app, "PUT", f"{ACCOUNT}/workspaceblobstore/m.txt", b"x", headers={"x-ms-meta-first": "v"}
                ).status == 201
    *_, root = listing(app, "workspaceblobstore", include="metadata")
    assert root.find("Blobs/Blob/Metadata/first").text == "v"


def test_of_two_uploads_racing_with_if_none_match_only_one_creates_the_blob(app, home):
    """overwrite=False (If-None-Match: *) holds when the upload lands, not only when it starts."""
    path = f"{ACCOUNT}/workspaceblobstore/race/once.txt"
    seen = {}

    def racing(environ, start_response):
        body = environ["wsgi.input"]

        class Racing:
            def read(self, *args):  # the other upload lands while this one's body is still arriving
                if "other" not in seen:
                    seen["other"] = call(app, "PUT", path, b"other", headers={"If-None-Match": "*"}).status
                return body.read(*args)

        environ["wsgi.input"] = Racing()
        return app(environ, start_response)

    mine = call(racing, "PUT", path, b"mine", headers={"If-None-Match": "*"})
    assert (seen["other"], mine.status, mine.headers["x-ms-error-code"]) == (201, 409, "BlobAlreadyExists")
    assert (home / "datastores/workspaceblobstore/race/once.txt").read_bytes() == b"other"
    assert [p.name for p in (home / "datastores/workspaceblobstore/race").iterdir()] == ["once.txt"]
