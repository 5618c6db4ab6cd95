"""`azml server` without serving: token files, the token command, stale state files."""
from __future__ import annotations

import os
import secrets
import stat
import time

import jwt
import pytest

from azureml_v2.local.api import server


def test_tokens_are_0600_and_a_loose_or_empty_one_is_refused(tmp_path):
    token, created = server.ensure_token(tmp_path)
    reader, _ = server.ensure_token(tmp_path, server.READER)
    assert created and token != reader and len(token) >= 40
    for role in (server.CONTRIBUTOR, server.READER):
        assert stat.S_IMODE((tmp_path / server.TOKEN_FILES[role]).stat().st_mode) == 0o600
    assert server.ensure_token(tmp_path) == (token, False)
    os.chmod(tmp_path / server.TOKEN_FILE, 0o644)
    with pytest.raises(PermissionError, match="may be read by others"):
        server.ensure_token(tmp_path)
    (tmp_path / server.TOKEN_FILE).write_text("\n")
    os.chmod(tmp_path / server.TOKEN_FILE, 0o600)
    with pytest.raises(PermissionError, match="empty: delete it"):  # it would open the server to no one
        server.ensure_token(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        server.require_token(lambda e, s: [], "")


def test_a_token_file_is_whole_when_it_appears_and_a_failed_write_leaves_none(tmp_path, monkeypatch):
    """A process reading the token while another creates it (a client's ServerCredential and a starting server)
    never reads it half written; a write that fails (a full disk) leaves no empty token file behind."""
    seen = []
    real_write = os.write

    def write(fd, data):  # another process looks while the token is being written
        seen.append((tmp_path / server.TOKEN_FILE).exists() and server.ensure_token(tmp_path)[0])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    token, created = server.ensure_token(tmp_path)
    assert created and seen and not any(t is not False and t != token for t in seen)

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space"):
        server.ensure_token(tmp_path, server.READER)
    assert not (tmp_path / server.TOKEN_FILES[server.READER]).exists()
    monkeypatch.setattr(os, "write", real_write)
    reader, created = server.ensure_token(tmp_path, server.READER)
    assert created and len(reader) >= 40


def test_the_cli_prints_where_the_reader_token_is_and_prints_it_on_request(tmp_path, monkeypatch, capsys):
    from azureml_v2.cli.main import main

    monkeypatch.setenv("AZUREML_V2_HOME", str(tmp_path))
    assert main(["server", "token", "--role", "reader"]) == 0
    assert capsys.readouterr().out.strip() == (tmp_path / "server-reader.token").read_text().strip()


@pytest.mark.parametrize("stale", ['{"pid": PID, "started": 1, "endpoint": "http://127.0.0.1:1"}',
                                   '{"pid": 999999999, "endpoint": "http://127.0.0.1:1"}', "{not json", ""])
def test_a_stale_state_file_does_not_count_as_a_running_server(tmp_path, stale):
    """A state file whose pid is gone, or now another process (a reused pid: its start time differs)."""
    tmp_path.joinpath(server.STATE_FILE).write_text(stale.replace("PID", str(os.getpid())))
    assert server.status(tmp_path) is None
    assert server.stop(tmp_path) is False and not tmp_path.joinpath(server.STATE_FILE).exists()


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_before_anything_starts(port, capsys):
    from azureml_v2.cli.main import main
    with pytest.raises(SystemExit) as exit_:
        main(["server", "start", "--port", port])
    assert exit_.value.code == 2
    assert "expected a number from 0 to 65535" in capsys.readouterr().err.splitlines()[-1]


def test_only_a_get_of_a_public_path_goes_without_a_token(home):
    from support.local import Client

    from azureml_v2.local import make_app
    from azureml_v2.local.api.arm import DISCOVERY_PATH

    app = make_app(home, run_jobs=False)
    try:
        client = Client(server.require_token(app, "tok", public=(DISCOVERY_PATH,)))
        assert client.get("http://127.0.0.1" + DISCOVERY_PATH, api_version=None).json["api"].startswith("http://")
        assert client.post("http://127.0.0.1" + DISCOVERY_PATH, api_version=None).status == 401
        assert client.get().status == 401
        assert client.get(headers={"HTTP_AUTHORIZATION": "Bearer tok"}).status == 200
    finally:
        app.close()


def test_a_jwt_signed_with_a_token_passes_for_that_token_for_any_audience_until_it_expires(home, monkeypatch):
    """azure-ai-ml reads the audience of its token before it submits a pipeline job: the server's credential gives a
    JWT for the audience asked, which the server takes as the token it was signed with, and nothing else."""
    from support.local import Client

    from azureml_v2.local import ServerCredential, make_app
    from azureml_v2.local.api.http import READER
    from azureml_v2.local.api.tokens import mint

    monkeypatch.setenv("AZUREML_V2_HOME", str(home))
    contributor, reader = server.ensure_token(home)[0], server.ensure_token(home, READER)[0]
    app = make_app(home, run_jobs=False)
    try:
        client = Client(server.require_token(app, contributor, reader))

        def status(token, method="GET"):
            return client.call(method, "/environments/e/versions/1" if method == "PUT" else "",
                               {"properties": {"image": "python:3.11-slim"}} if method == "PUT" else None,
                               headers={"HTTP_AUTHORIZATION": f"Bearer {token}"}).status

        signed = ServerCredential().get_token("https://ml.azure.com/.default")
        assert jwt.decode(signed.token, options={"verify_signature": False})["aud"] == "https://ml.azure.com"
        assert signed.expires_on > time.time() + 3000
        assert status(signed.token) == 200 and status(signed.token, "PUT") == 201
        read_only = ServerCredential(home, role=READER).get_token_info("https://management.azure.com/.default")
        assert status(read_only.token) == 200 and status(read_only.token, "PUT") == 403
        assert status(mint(contributor, "x", now=time.time() - 7200)[0]) == 401  # expired
        assert status(mint(secrets.token_urlsafe(32), "x")[0]) == 401  # another home's
        assert status(jwt.encode({"aud": "x"}, contributor, algorithm="HS256")) == 401  # no expiry
        unsigned = jwt.encode({"aud": "x", "exp": int(time.time()) + 60}, None, algorithm="none")
        assert status(unsigned) == 401
    finally:
        app.close()


def test_tls_makes_one_certificate_for_this_machine_and_keeps_its_key_private(tmp_path):
    from cryptography import x509

    from azureml_v2.local.api import tls

    cert, key = tls.ensure_certificate(tmp_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    names = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "::1"}
    before = cert.read_bytes()
    assert tls.ensure_certificate(tmp_path) == (cert, key)
    assert cert.read_bytes() == before  # kept, not made anew
    tls.context(cert, key)  # a pair the server loads


@pytest.mark.parametrize("given", [dict(tls=True, certfile="c.pem", keyfile="k.pem"), dict(certfile="c.pem"),
                                   dict(certfile="missing.pem", keyfile="missing.pem")])
def test_a_bad_tls_setting_is_refused_before_anything_starts(tmp_path, given):
    with pytest.raises(ValueError, match="TLS"):
        server.start(tmp_path, **{k: tmp_path / v if k != "tls" else v for k, v in given.items()})
    assert not tmp_path.joinpath(server.STATE_FILE).exists()


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path):
    from azureml_v2.local.api import tls

    cert, _ = tls.ensure_certificate(tmp_path / "a")
    _, other = tls.ensure_certificate(tmp_path / "b")
    with pytest.raises(ValueError, match="server-cert.pem"):
        tls.context(cert, other)
