"""Serving behind a load balancer: gunicorn.conf.py, and the client's address behind proxies."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config as GunicornConfig

from survey_app import config as app_config
from survey_app import create_app
from survey_app.db import create_db_engine
from tests.conftest import POSTGRES_URL

GUNICORN_CONF = app_config.PROJECT_ROOT / "gunicorn.conf.py"


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **environ: str) -> ModuleType:
    for name in ("GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", GUNICORN_CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gunicorn_settings(module: ModuleType) -> GunicornConfig:
    """The module's settings as gunicorn reads them (each through gunicorn's validator)."""
    config = GunicornConfig()
    for name, value in vars(module).items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_gunicorn_conf_is_valid_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = gunicorn_settings(load_gunicorn_conf(monkeypatch))
    assert default.worker_class_str == "gthread"
    assert 3 <= default.workers <= 8
    assert default.preload_app is False
    tuned = gunicorn_settings(
        load_gunicorn_conf(
            monkeypatch,
            GUNICORN_WORKERS="4",
            GUNICORN_BIND="127.0.0.1:9123",
            FORWARDED_ALLOW_IPS="10.0.0.0/8",
        )
    )
    assert tuned.workers == 4
    assert tuned.bind == ["127.0.0.1:9123"]
    assert tuned.forwarded_allow_ips == ["10.0.0.0/8"]


def test_access_log_keeps_invitation_tokens_out(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_gunicorn_conf(monkeypatch)
    logger = module.TokenRedactingLogger(gunicorn_settings(module))
    token = "Jq3v9mXw7Zb2Lr8Tn4Yc6Pd1Hs5Kf0Ga-Ue_Wo2Ri7Ek"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/s/icb-leaders/{token}",
        "PATH_INFO": f"/s/icb-leaders/{token}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://surveys.example.nhs.uk/s/icb-leaders/{token}?x=1",
    }
    response = SimpleNamespace(status="303 SEE OTHER", sent=0, headers=[])
    request = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=12))
    logged = " ".join(str(atoms[key]) for key in ("r", "U", "f", "{referer}i"))
    assert token not in logged
    assert "/s/icb-leaders/<token>" in atoms["r"]
    # The open link and the thank-you page are logged as they are.
    assert module.redact_tokens("GET /s/placement-quality HTTP/1.1") == (
        "GET /s/placement-quality HTTP/1.1"
    )
    assert module.redact_tokens("/s/placement-quality/thanks") == "/s/placement-quality/thanks"
    # An encoded slash reaches the invitation route all the same: its token is redacted too.
    for encoded in ("%2F", "%2f"):
        line = f"GET /s/icb-leaders{encoded}{token} HTTP/1.1"
        assert module.redact_tokens(line) == "GET /s/icb-leaders/<token> HTTP/1.1"
    assert module.redact_tokens("GET /reports/a%0Ab HTTP/1.1") == "GET /reports/a%0Ab HTTP/1.1"


def test_each_worker_gets_its_own_connection_pool(
    monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    module = load_gunicorn_conf(monkeypatch)
    engine = app.extensions["survey_app.engine"]
    # In a real fork the parent keeps its connections; here there is one process, so close
    # them first rather than leave them to the garbage collector.
    engine.dispose()
    inherited = engine.pool
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    module.post_fork(server=None, worker=worker)
    assert engine.pool is not inherited


@pytest.mark.skipif(not POSTGRES_URL, reason="libpq's options need PostgreSQL")
def test_postgresql_connections_do_not_try_gssapi_unless_asked() -> None:
    for url, mode in [(POSTGRES_URL, b"disable"), (f"{POSTGRES_URL}?gssencmode=prefer", b"prefer")]:
        engine = create_db_engine(url)  # type: ignore[arg-type]
        with engine.connect() as connection:
            pgconn = connection.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
            options = {option.keyword: option.val for option in pgconn.info}
        engine.dispose()
        assert options[b"gssencmode"] == mode


@pytest.fixture
def proxied_client(database_url: str, app: Flask) -> Iterator[FlaskClient]:
    """A client of an app behind one proxy, with rate limits on, counting from zero."""
    from survey_app.security import limiter

    config = app_config.TestConfig(database_url)
    config.RATELIMIT_ENABLED = True
    config.TRUSTED_PROXY_COUNT = 1
    proxied = create_app(config)
    limiter.reset()
    yield proxied.test_client()
    limiter.reset()
    proxied.extensions["survey_app.engine"].dispose()


def _guess(client: FlaskClient, address: str, number: int) -> int:
    return client.get(
        f"/s/icb-leaders/{'guess' * 5}{number:04d}",
        headers={"X-Forwarded-For": address},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the load balancer
    ).status_code


def test_behind_a_load_balancer_each_client_has_its_own_token_limit(
    surveys: Any, proxied_client: FlaskClient
) -> None:
    guesser = [_guess(proxied_client, "203.0.113.7", number) for number in range(31)]
    assert guesser[:30] == [404] * 30
    assert guesser[30] == 429
    # Another respondent, through the same balancer, is not held back by the guesser.
    assert _guess(proxied_client, "198.51.100.9", 99) == 404


def test_without_trusted_proxies_a_forwarded_address_is_ignored(
    surveys: Any, limited_client: FlaskClient
) -> None:
    statuses = [_guess(limited_client, f"203.0.113.{number}", number) for number in range(31)]
    # A client cannot escape the limit by inventing X-Forwarded-For addresses.
    assert statuses[30] == 429
