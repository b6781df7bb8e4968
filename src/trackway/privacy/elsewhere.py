"""The identifiers policy beyond the traits: every other place an email or phone sits.

:func:`trackway.privacy.pii.apply_policy` covers the traits (``event.user``). An email or
a phone also comes as the user id, in Google's ``user_data`` (a dataLayer or gtag
``user_data`` object in the properties, the Measurement Protocol's in the context), under
any key naming it (``customer_email``), as a whole value (a search term) and inside a text
or a URL's query (``page_location=...?email=jane%40example.com``). :func:`changes` applies
the ``hash`` or ``drop`` policy to all of them, on copies:

- **ids** (``user_id``, ``anonymous_id``) that are an email or a phone: ``hash`` gives the
  sha256 of the normalised value (the same for every spelling of one address, so a person's
  events still join), ``drop`` removes the id.
- **Google's ``user_data``** (any ``user_data`` object): ``hash`` turns it into the hashed
  form Google documents for the Measurement Protocol and gtag: ``email``/``email_address``
  into ``sha256_email_address``, ``phone``/``phone_number`` into ``sha256_phone_number``,
  and in it or its ``address`` the ``first_name``, ``last_name`` and ``street`` into
  ``sha256_first_name``, ``sha256_last_name``, ``sha256_street``, each normalised as Google
  says (:func:`google_hash`); a plain value that does not normalise is removed. City, region,
  postal code and country stay. ``drop`` removes the whole object.
- **a key naming an email or a phone** (``email`` or ``phone`` in its name, any case; a phone
  also as ``mobile``, ``msisdn``, ``cellphone``, ``cellular`` in it or ``tel`` as it) whose
  value normalises as one: ``hash`` puts the sha256 of the normalised value in its place,
  ``drop`` removes the key. Under ``drop`` a key naming an email or phone that holds a hash
  (32 or 64 hex digits) goes too. A value that is no email or phone (``email_opt_in: true``,
  ``email_campaign: "spring"``) stays, except under the identifier's own name (``email``,
  ``email_address``, ``phone``, ``phone_number``): there a value that does not normalise (a
  national number) is removed, as from the traits.
- **an email anywhere in a text**: the whole value, or inside a text or a URL (a query's
  value, percent-encoded or not, a path): ``hash`` replaces the address by the sha256 of its
  normalised form, ``drop`` removes it (a whole value: its key; inside a text: the address,
  so a URL keeps ``email=``). What ends in a file name's extension (``logo@2x.png``) is no
  address. A phone as the value of a URL parameter whose name says ``phone`` likewise.

The event's properties, context, extras and its items' extras are walked, at any depth.
``keep`` changes nothing. Pure and never raises.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, unquote_plus

import msgspec

from trackway.model import Event
from trackway.privacy.pii import normalize_email, normalize_phone, sha256_hex

_REMOVE: Any = object()  # what a walk returns for a value to remove
_HEX = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# An address inside a text (as trackway.store.forget finds them): no "/", "?", "=", "&"
# or "#" in the local part, which end a URL's parts, and "%40" for a percent-encoded "@".
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9.!$%'*+^_`{|}~-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE_PARAM = re.compile(r"(?<=[?&#;])([^=&#;]*phone[^=&#;]*=)([^&#;]*)", re.IGNORECASE)

# Google's user_data: plain field -> the hashed field it becomes, and how it is normalised.
_GOOGLE_LISTS = {
    "email": "sha256_email_address",
    "email_address": "sha256_email_address",
    "phone": "sha256_phone_number",
    "phone_number": "sha256_phone_number",
}
_GOOGLE_ADDRESS = {
    "first_name": "sha256_first_name",
    "last_name": "sha256_last_name",
    "street": "sha256_street",
}
_GMAIL = frozenset({"gmail.com", "googlemail.com"})
# Keys that are an identifier's own name: a value there that is no valid address or number
# is still the person's (a national phone number) and goes, as from the traits.
_OWN_NAMES = frozenset({"email", "email_address", "phone", "phone_number"})
# File name extensions that look like a top-level domain after an "@" (retina images:
# logo@2x.png): what ends so is a file, not an address.
_FILES = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "css", "js", "mjs"}
    | {"map", "json", "html", "htm", "php", "asp", "aspx", "jsp", "pdf", "txt", "xml", "woff", "woff2"}
    | {"ttf", "otf", "eot", "mp4", "webm", "mp3"}
)


def google_email(value: Any) -> str | None:
    """An email normalised as Google hashes it: trimmed, lower-cased, and for
    ``gmail.com``/``googlemail.com`` without the dots of its local part; None if it is
    not an address (:func:`~trackway.privacy.pii.normalize_email`)."""
    normal = normalize_email(value)
    if normal is None:
        return None
    local, _, domain = normal.rpartition("@")
    return f"{local.replace('.', '')}@{domain}" if domain in _GMAIL else normal


def google_hash(field: str, value: Any) -> str | None:
    """The sha256 hex of a ``user_data`` field's plain value normalised as Google's
    Measurement Protocol reference says (email: :func:`google_email`; phone: E.164; first and
    last name: digits and symbols removed; street: symbols removed; then trimmed and
    lower-cased), or None when nothing is left to hash. A sha256 already (64 hex digits)
    is kept, lower-cased."""
    if type(value) is not str:
        return None
    if _SHA256.fullmatch(value.strip()):
        return value.strip().lower()  # hashed already
    if field in ("email", "email_address"):
        normal = google_email(value)
    elif field in ("phone", "phone_number"):
        normal = normalize_phone(value)
    elif field == "street":
        normal = "".join(c for c in value if c.isalnum() or c.isspace()).strip().lower() or None
    else:
        normal = "".join(c for c in value if c.isalpha() or c.isspace()).strip().lower() or None
    return None if normal is None else sha256_hex(normal)


def identifier_hash(value: Any) -> str | None:
    """The sha256 hex of ``value`` normalised when it is an email or a phone (the hash an
    id that is an email gets under ``hash``), else None."""
    if type(value) is not str:
        return None
    if "@" in value:
        normal = normalize_email(value)
    elif "+" in value:  # a phone Trackway can normalise is international
        normal = normalize_phone(value)
    else:
        return None
    return None if normal is None else sha256_hex(normal)


def changes(event: Event, policy: str) -> dict[str, Any]:
    """The fields of ``event`` that ``policy`` (``hash`` or ``drop``) changes beyond its
    traits, with their new values ({} when none, and for ``keep``); ``event`` is not changed."""
    if policy not in ("hash", "drop"):
        return {}
    out: dict[str, Any] = {}
    for field, ident in (("user_id", event.user_id), ("anonymous_id", event.anonymous_id)):
        if ident is not None:
            hashed = identifier_hash(ident)
            if hashed is not None:
                out[field] = hashed if policy == "hash" else None
    for field, value in (
        ("properties", event.properties),
        ("context", event.context),
        ("extras", event.extras),
    ):
        if value and type(value) is dict:
            new = _object(value, policy)
            if new is not value:
                out[field] = new
    commerce = event.commerce
    if commerce is not None and commerce.items:
        items = commerce.items
        for n, item in enumerate(items):
            if item.extras:
                new_item = _item(item, policy)
                if new_item is not item:
                    items = items[:n] + [new_item] + [_item(it, policy) for it in items[n + 1 :]]
                    out["commerce"] = msgspec.structs.replace(commerce, items=items)
                    break
    return out


def scrub_text(text: str, policy: str) -> str:
    """A payload as received (a failed one: JSON, a form, JavaScript) under ``policy``:
    JSON walked as an event's objects are (keys naming an email or phone, Google's
    ``user_data``, addresses in texts), anything else its addresses in the text hashed or
    removed. ``keep``, and a text with no "@", unchanged."""
    if policy not in ("hash", "drop") or (
        "@" not in text and "%40" not in text and "phone" not in text.lower()
    ):
        return text
    try:
        value = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        value = _REMOVE
    if type(value) is dict or type(value) is list:
        new = _walk(value, policy, None)
        return text if new is value else msgspec.json.encode(new).decode()
    out = _text(text, policy, None)
    return "" if out is _REMOVE else str(out)


def _item(item: Any, policy: str) -> Any:
    if not item.extras:
        return item
    new = _walk(item.extras, policy, None)
    return item if new is item.extras else msgspec.structs.replace(item, extras=new)


def _kind(key: Any) -> str | None:
    """What a key names: "email" or "phone" (its value may be one), "email!" or "phone!"
    (the key is the identifier's own name: its value is one), "hash" (a hash of one), or None.
    Keys repeat from event to event: what each names is kept (:data:`_KINDS`)."""
    try:
        return _KINDS[key]
    except (KeyError, TypeError):
        pass
    kind = None
    if type(key) is str:
        k = key.lower()
        if "email" in k or "phone" in k or any(w in k for w in _PHONE_WORDS) or k in _PHONE_NAMES:
            if k.startswith(("sha256_", "md5_")) or k.endswith(("_md5", "_sha256", "_hash")):
                kind = "hash"
            else:
                kind = "email" if "email" in k else "phone"
                kind = kind + "!" if k in _OWN_NAMES else kind
        if len(_KINDS) < 10_000:
            _KINDS[key] = kind
    return kind


_KINDS: dict[str, str | None] = {}
# Keys that name a phone without saying "phone": mobile, msisdn, cell(ular), tel (whole name).
_PHONE_WORDS = ("mobile", "msisdn", "cellphone", "cellular")
_PHONE_NAMES = frozenset({"tel", "telephone", "cell", "gsm", "portable"})


def _walk(value: Any, policy: str, kind: str | None) -> Any:
    """``value`` under ``policy`` (itself when unchanged, :data:`_REMOVE` to remove it);
    ``kind``: what the key holding it names."""
    t = type(value)
    if t is str:
        return _text(value, policy, kind)
    if t is dict:
        return _object(value, policy)
    if t is list:
        out = value
        for n, v in enumerate(value):
            new = _walk(v, policy, kind)
            if new is not v:
                if out is value:
                    out = list(value[:n])
                if new is not _REMOVE:
                    out.append(new)
            elif out is not value:
                out.append(v)
        return out
    return value


def _object(obj: dict[Any, Any], policy: str) -> Any:
    out = obj
    for key, v in obj.items():
        t = type(v)
        if t is str:
            kind = _kind(key)
            if (
                kind is None
                and "@" not in v
                and "%40" not in v
                and ("?" not in v or "phone" not in v.lower())
            ):
                continue  # the common case (no address, no phone parameter), decided without a call
            new = _text(v, policy, kind)
        elif t is dict:
            if key == "user_data":
                new = _REMOVE if policy == "drop" else _user_data(v)
            else:
                new = _object(v, policy)
        elif t is list:
            new = _walk(v, policy, _kind(key))
        else:
            continue
        if new is not v:
            if out is obj:
                out = dict(obj)
            if new is _REMOVE:
                del out[key]
            else:
                out[key] = new
    return out


def _user_data(data: dict[str, Any]) -> dict[str, Any]:
    """Google's ``user_data`` hashed as Google documents it (the module docstring), then
    walked like any object (a custom key naming an email, a URL)."""
    out = _hashed_fields(data, _GOOGLE_LISTS, as_list=True)
    out = _hashed_fields(out, _GOOGLE_ADDRESS, as_list=False)
    address = out.get("address")
    new: Any = address
    if type(address) is dict:
        new = _hashed_fields(address, _GOOGLE_ADDRESS, as_list=False)
    elif type(address) is list:
        hashed = [
            _hashed_fields(a, _GOOGLE_ADDRESS, as_list=False) if type(a) is dict else a for a in address
        ]
        if any(h is not a for h, a in zip(hashed, address, strict=True)):
            new = hashed
    if new is not address:
        out = dict(out) if out is data else out
        out["address"] = new
    return _object(out, "hash")


def _hashed_fields(data: dict[str, Any], fields: dict[str, str], *, as_list: bool) -> dict[str, Any]:
    """``data`` with each plain field of ``fields`` replaced by its hashed field (merged into
    one already there; a list when the plain value or the hashed field was one, or several
    values meet); ``data`` itself when it has none. A value that gives no hash is removed."""
    if not any(f in data for f in fields):
        return data
    out = dict(data)
    for field, target in fields.items():
        if field not in out:
            continue
        plain = out.pop(field)
        values = plain if type(plain) is list else [plain]
        hashes = [h for v in values if (h := google_hash(field, v)) is not None]
        if not hashes:
            continue
        if not as_list:
            out.setdefault(target, hashes[0])
            continue
        had = out.get(target)
        before = [had] if type(had) is str else had if type(had) is list else []
        merged = list(dict.fromkeys(before + hashes))
        listed = type(plain) is list or type(had) is list or len(merged) > 1
        out[target] = merged if listed else merged[0]
    return out


def _text(text: str, policy: str, kind: str | None) -> Any:
    if kind == "hash":
        return _REMOVE if policy == "drop" and _HEX.fullmatch(text.strip()) else text
    if kind is not None:
        normal = normalize_email(text) if kind[:5] == "email" else normalize_phone(text)
        if normal is not None:
            return sha256_hex(normal) if policy == "hash" else _REMOVE
        if kind[-1] == "!":  # as in the traits: a plain identifier that gives no hash is not kept
            return text if policy == "hash" and _HEX.fullmatch(text.strip()) else _REMOVE
    out = text
    if "@" in text or "%40" in text:
        normal = normalize_email(text)
        if normal is not None and normal.rpartition(".")[2] not in _FILES:
            return sha256_hex(normal) if policy == "hash" else _REMOVE
        out = _EMAIL_IN_TEXT.sub(lambda m: _email(m, policy), text)
    if "?" in out and "phone" in out.lower():
        out = _PHONE_PARAM.sub(lambda m: _phone(m, policy), out)
    return text if out == text else out


def _email(m: re.Match[str], policy: str) -> str:
    """An address found in a text, hashed (``hash``) or removed (``drop``); as it is when it
    is none (``logo@2x.png``: a file name's extension is no top-level domain)."""
    found = m.group(0)
    if found.rpartition(".")[2].lower() in _FILES:
        return found
    normal = normalize_email(found)
    if normal is None and "%" in found:
        normal = normalize_email(unquote(found)) or normalize_email(unquote_plus(found))
    if normal is None:
        return found
    return sha256_hex(normal) if policy == "hash" else ""


def _phone(m: re.Match[str], policy: str) -> str:
    """A URL parameter naming a phone whose value is one, hashed or emptied."""
    normal = normalize_phone(unquote(m.group(2)))
    if normal is None:
        return m.group(0)
    return m.group(1) + (sha256_hex(normal) if policy == "hash" else "")
