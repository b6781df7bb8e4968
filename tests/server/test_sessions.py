"""Dashboard sessions: signed cookies bound to an admin token, CSRF tokens, one-time
links, and the sign-in rate limit (server/sessions.py)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from trackway import config as configuration
from trackway.config import Config
from trackway.errors import HttpError
from trackway.server import sessions
from trackway.server.sessions import Attempts, Sessions


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    path = tmp_path / "trackway.toml"
    configuration.add_property(path, "shop", "EUR")
    configuration.add_property(path, "other", "EUR")
    configuration.set_server(path, "admin_token", "twa_instance_token_for_tests")
    return configuration.load(path)


def token_of(cfg: Config, prop: str) -> str:
    return str(cfg.properties[prop]["admin_token"])


@pytest.mark.parametrize(
    ("who", "scope"), [("server", "*"), ("shop", "shop"), ("other", "other")], ids=["server", "shop", "other"]
)
def test_a_session_grants_the_scope_of_its_token(tmp_path: Path, cfg: Config, who: str, scope: str) -> None:
    s = Sessions(tmp_path)
    token = cfg.server["admin_token"] if who == "server" else token_of(cfg, who)
    assert s.scope(s.issue(token, 60), cfg) == scope


def test_the_key_is_made_once_private_and_shared_by_every_process(tmp_path: Path, cfg: Config) -> None:
    first = Sessions(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / sessions.KEY_FILE).st_mode)
    assert mode == 0o600
    cookie = first.issue(token_of(cfg, "shop"), 60)
    assert Sessions(tmp_path).scope(cookie, cfg) == "shop"  # another worker reads the same key
    assert Sessions(tmp_path / "elsewhere").scope(cookie, cfg) is None


def tampered(cookie: str) -> list[str]:
    fingerprint, expiry, nonce, mac = cookie.split(".")
    return [
        f"{fingerprint}.{int(expiry) + 3600}.{nonce}.{mac}",  # a longer life
        f"{'0' * len(fingerprint)}.{expiry}.{nonce}.{mac}",  # another token
        f"{fingerprint}.{expiry}.{nonce}.{'0' * len(mac)}",
        f"{fingerprint}.{expiry}.{nonce}",
        "",
        "a.b.c.d",
        cookie + ".x",
    ]


def test_a_tampered_cookie_grants_nothing(tmp_path: Path, cfg: Config) -> None:
    s = Sessions(tmp_path)
    cookie = s.issue(cfg.server["admin_token"], 60)
    for bad in tampered(cookie):
        assert s.scope(bad, cfg) is None, bad


def test_a_session_ends_when_it_expires_or_its_token_changes(tmp_path: Path, cfg: Config) -> None:
    s = Sessions(tmp_path)
    assert s.scope(s.issue(token_of(cfg, "shop"), -1), cfg) is None
    cookie = s.issue(token_of(cfg, "shop"), 60)
    path = cfg.path
    text = path.read_text().replace(token_of(cfg, "shop"), "twa_a_new_token_for_shop_123")
    path.write_text(text)
    assert s.scope(cookie, configuration.load(path)) is None


def test_the_csrf_token_belongs_to_one_session(tmp_path: Path, cfg: Config) -> None:
    s = Sessions(tmp_path)
    one, two = s.issue(token_of(cfg, "shop"), 60), s.issue(token_of(cfg, "shop"), 60)
    s.check_csrf(one, s.csrf(one))
    for sent in (None, "", s.csrf(two), s.csrf(one) + "0"):
        with pytest.raises(HttpError) as err:
            s.check_csrf(one, sent)
        assert err.value.status == 403 and "X-CSRF-Token" in str(err.value)


def test_a_link_works_once(tmp_path: Path) -> None:
    s = Sessions(tmp_path)
    code = s.new_link("shop")
    assert next(iter((tmp_path / "run" / sessions.LINKS).iterdir())).name != code  # only its hash is kept
    assert s.redeem(code) == "shop"
    with pytest.raises(HttpError) as err:
        s.redeem(code)
    assert err.value.status == 401 and "used already" in str(err.value)
    assert not list((tmp_path / "run" / sessions.LINKS).iterdir())


@pytest.mark.parametrize("code", ["", "nope", "../../etc/passwd", "x" * 5000])
def test_an_unknown_link_is_refused(tmp_path: Path, code: str) -> None:
    s = Sessions(tmp_path)
    s.new_link("*")
    with pytest.raises(HttpError) as err:
        s.redeem(code)
    assert err.value.status == 401


def test_an_expired_link_is_refused_and_spent(tmp_path: Path) -> None:
    s = Sessions(tmp_path)
    code = s.new_link("*", now=time.time() - sessions.LINK_SECONDS - 1)
    with pytest.raises(HttpError) as err:
        s.redeem(code)
    assert "expired" in str(err.value)
    assert not list((tmp_path / "run" / sessions.LINKS).iterdir())


def test_sign_in_attempts_are_limited_per_address_for_a_minute() -> None:
    a = Attempts()
    for n in range(3):
        a.take("198.51.100.1", 3, now=100.0 + n)
    with pytest.raises(HttpError) as err:
        a.take("198.51.100.1", 3, now=110.0)
    assert err.value.status == 429
    assert (b"retry-after", b"51") in err.value.headers
    a.take("198.51.100.2", 3, now=110.0)  # another address is not held back
    a.take("198.51.100.1", 3, now=160.5)  # the first attempt is a minute old


@pytest.mark.parametrize("with_data", [True, False], ids=["data dir", "no data dir"])
def test_signing_out_ends_that_session_only_and_its_record_goes_with_the_cookie(
    tmp_path: Path, cfg: Config, with_data: bool
) -> None:
    s = Sessions(tmp_path if with_data else None)
    token = token_of(cfg, "shop")
    out, stays = s.issue(token, 60), s.issue(token, 60)
    s.revoke(out)
    assert s.scope(out, cfg) is None and s.scope(stays, cfg) == "shop"
    if with_data:
        assert Sessions(tmp_path).scope(out, cfg) is None  # every worker sees it
        old = s.issue(token, -10)  # a cookie already expired: its record is cleared at the next sign-out
        s.revoke(old)
        s.revoke(s.issue(token, 60))
        kept = {p.name for p in (tmp_path / "run" / sessions.REVOKED).iterdir()}
        assert old.split(".")[2] not in kept and out.split(".")[2] in kept


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("valid", ""),
        ("expired", "has expired"),
        ("signed out", "was signed out"),
        ("token changed", "changed or removed"),
        ("tampered", "did not sign"),
        ("not a cookie", "not one of this server's"),
    ],
)
def test_a_refused_session_says_why(tmp_path: Path, cfg: Config, how: str, words: str) -> None:
    s = Sessions(tmp_path)
    token = token_of(cfg, "shop")
    cookie = s.issue(token, -1 if how == "expired" else 60)
    if how == "signed out":
        s.revoke(cookie)
    elif how == "token changed":
        cfg.path.write_text(cfg.path.read_text().replace(token, "twa_a_new_token_for_shop_456"))
        cfg = configuration.load(cfg.path)
    elif how == "tampered":
        cookie = tampered(cookie)[2]
    elif how == "not a cookie":
        cookie = "a.b"
    scope, why = s.check(cookie, cfg)
    if how == "valid":
        assert (scope, why) == ("shop", "")
    else:
        assert scope is None and words in why, why
    assert s.scope(cookie, cfg) == scope
