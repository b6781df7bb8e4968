"""Dashboard sign-in: signed session cookies, CSRF tokens, one-time sign-in links and
the sign-in rate limit.

A session is a cookie, not a server-side record, so that every worker process honours
it without sharing memory: ``tw_session=<fingerprint>.<expiry>.<nonce>.<mac>``. The
fingerprint is a keyed hash of the admin token signed in with (a property's or the
server's), so a session ends when that token is changed or removed, and the cookie
reveals nothing about the token. The key is ``DATA/dashboard.key`` (32 random bytes,
mode 0600), made by the first process that needs it; deleting it ends every session.

A state-changing request made with a session must carry ``X-CSRF-Token``: an HMAC of
the session cookie, which a page reads from ``GET /api/session`` (same origin only: no
CORS header is ever sent for it). ``SameSite=Strict`` already keeps the cookie off
cross-site requests; the token covers browsers and proxies that do not.

One-time links (``trackway dashboard``, ``make run``): a random code whose hash is a
file under ``DATA/run/signin/``, naming the scope it grants; the first request that
renames the file away wins, so the link works once, within ``LINK_SECONDS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from pathlib import Path

import msgspec

from trackway.config import Config
from trackway.errors import HttpError

COOKIE = "tw_session"
CSRF_HEADER = b"x-csrf-token"
KEY_FILE = "dashboard.key"
LINKS = "signin"
REVOKED = "signed-out"
LINK_SECONDS = 15 * 60


class Link(msgspec.Struct):
    scope: str  # a property's name, or "*"
    expires: float


def _key(data: Path | None) -> bytes:
    """The data dir's session key, made on first use (``None``: a process-local key, for
    an application without a data dir, as in tests)."""
    if data is None:
        return secrets.token_bytes(32)
    path = data / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    data.mkdir(parents=True, exist_ok=True)
    tmp = data / f".{KEY_FILE}.{os.getpid()}"
    tmp.write_bytes(secrets.token_bytes(32))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # the first process to link wins; the others read its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


class Sessions:
    def __init__(self, data: Path | None) -> None:
        self.data = data
        self.key = _key(data)
        self._signed_out: set[str] = set()  # without a data dir (tests): this process's

    def _mac(self, *parts: str) -> str:
        return hmac.new(self.key, ".".join(parts).encode(), hashlib.sha256).hexdigest()

    def fingerprint(self, token: str) -> str:
        return self._mac("token", token)[:32]

    def issue(self, token: str, seconds: int) -> str:
        """A cookie value for a session of ``token`` lasting ``seconds``."""
        body = f"{self.fingerprint(token)}.{int(time.time()) + seconds}.{secrets.token_hex(8)}"
        return f"{body}.{self._mac('session', body)}"

    def scope(self, cookie: str | None, cfg: Config) -> str | None:
        """The scope (a property's name, ``*``) of a valid, unexpired, not signed-out
        session cookie whose token is still an admin token; None otherwise."""
        return self.check(cookie, cfg)[0]

    def check(self, cookie: str | None, cfg: Config) -> tuple[str | None, str]:
        """:meth:`scope` and, when it is None, why the cookie grants nothing (words a
        user reads: "a sign-in that was signed out")."""
        if not cookie or cookie.count(".") != 3:
            return None, "a sign-in cookie that is not one of this server's"
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None, "a sign-in cookie this server did not sign (its dashboard.key changed?)"
        fingerprint, expiry, nonce = body.split(".")
        if not expiry.isdigit() or int(expiry) < time.time():
            return None, "a sign-in that has expired (dashboard_session_seconds)"
        if self._revoked(nonce):
            return None, "a sign-in that was signed out (in this tab or another)"
        for token, prop in cfg.keyring.admin.items():
            if hmac.compare_digest(self.fingerprint(token), fingerprint):
                return ("*" if prop is None else prop.name), ""
        return None, "a sign-in whose admin token was changed or removed"

    # Sign-out: the session's nonce is kept (a file per signed-out session, until the
    # cookie would have expired anyway), so a copy of the cookie stops working too.

    def _revoked(self, nonce: str) -> bool:
        if self.data is None:
            return nonce in self._signed_out
        return (self.data / "run" / REVOKED / nonce).exists()

    def revoke(self, cookie: str) -> None:
        """End the session of ``cookie`` (a valid one: checked by the caller), everywhere."""
        _, expiry, nonce = cookie.rpartition(".")[0].split(".")
        if self.data is None:
            self._signed_out.add(nonce)
            return
        folder = self.data / "run" / REVOKED
        folder.mkdir(parents=True, exist_ok=True)
        (folder / nonce).write_text(expiry)
        now = time.time()
        for old in folder.iterdir():  # the cookies that have expired by now need no record
            with contextlib.suppress(OSError, ValueError):
                if int(old.read_text() or 0) < now:
                    old.unlink()

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf", cookie)[:40]

    def check_csrf(self, cookie: str, sent: str | None) -> None:
        if not sent or not hmac.compare_digest(sent, self.csrf(cookie)):
            raise HttpError(
                403,
                "expected the X-CSRF-Token header of this sign-in on a request that changes something, got "
                + ("none" if not sent else "another one")
                + "; reload the dashboard (GET /api/session gives the token)",
            )

    # One-time links ---------------------------------------------------------------

    def _links(self) -> Path:
        if self.data is None:
            raise HttpError(404, "expected a server with a data directory for sign-in links")
        return self.data / "run" / LINKS

    def new_link(self, scope: str, now: float | None = None) -> str:
        """A one-time code granting ``scope`` for ``LINK_SECONDS``."""
        code = secrets.token_urlsafe(24)
        folder = self._links()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / hashlib.sha256(code.encode()).hexdigest()
        expires = (time.time() if now is None else now) + LINK_SECONDS
        path.write_bytes(msgspec.json.encode(Link(scope, expires)))
        path.chmod(0o600)
        return code

    def redeem(self, code: str) -> str:
        """The scope of a one-time code, which is spent; 401 if unknown, spent or expired."""
        folder = self._links()
        name = hashlib.sha256(code.encode()).hexdigest()
        spent = folder / f"{name}.spent.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            os.rename(folder / name, spent)  # one request wins, even across workers
        except FileNotFoundError:
            raise HttpError(
                401,
                "expected a sign-in link that has not been used, got one that is unknown or used already; "
                "ask for a new one with `trackway dashboard`, or sign in with an admin token",
            ) from None
        try:
            link = msgspec.json.decode(spent.read_bytes(), type=Link)
        finally:
            spent.unlink()
        if link.expires < time.time():
            raise HttpError(
                401,
                f"expected a sign-in link less than {LINK_SECONDS // 60} minutes old, got an expired one; "
                "ask for a new one with `trackway dashboard`",
            )
        return link.scope


class Attempts:
    """Sign-in attempts per client address in the last minute (one worker's count)."""

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = {}

    def take(self, who: str, per_minute: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self.seen) > 10_000:  # a flood of addresses: forget the idle ones
            self.seen = {k: v for k, v in self.seen.items() if v and v[-1] > now - 60}
        times = self.seen.setdefault(who, deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= per_minute:
            wait = int(times[0] + 60 - now) + 1
            raise HttpError(
                429,
                f"expected at most {per_minute} sign-in attempts a minute from one address, got more; "
                f"wait {wait} s (signin_attempts_per_minute)",
                headers=[(b"retry-after", str(wait).encode())],
            )
        times.append(now)
