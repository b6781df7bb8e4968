"""Koalect's vocabulary: event names, enumerations, field tables and its own rules.

Used by :mod:`trackway.vendors.koalect.adapter`. Root keys are event parameters
(``Event.properties``, Koalect names kept) except the renamed ones (``share_method``
and ``auth_method`` are GA4's ``method``); the ``ecommerce`` object is GA4-shaped,
with ``payment_method`` in place of GA4's ``payment_type``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from trackway.dialects.fields import Field, Table
from trackway.issues import Issues, article, describe
from trackway.rules.values import INVALID, amount, boolean, enum, ident, integer, obj, string
from trackway.vendors.ga4 import common as ga4

DIALECT = "koalect"

# -- enumerations ------------------------------------------------------------------
CATEGORIES = ("donation", "create-project", "project-invite")
TARGET_TYPES = ("Client", "Project", "Campaign")
STEP_NAMES = ("personal_infos", "project_informations", "project_invitation", "custom", "success")
# The procedure category each step belongs to; None: any category.
STEP_CATEGORY: dict[str, str | None] = {
    "personal_infos": "donation",
    "project_informations": "create-project",
    "project_invitation": "project-invite",
    "custom": None,
    "success": None,
}

# -- event names -------------------------------------------------------------------
TO_CANONICAL = {"checkout": "begin_checkout", "transaction": "purchase", "register": "sign_up"}
TO_WIRE = {v: k for k, v in TO_CANONICAL.items()}
PROCEDURE_KEYS = (
    "procedure_id",
    "procedure_slug",
    "procedure_category",
    "procedure_target_type",
    "procedure_target_id",
)
# Canonical names of the events that carry the procedure context.
PROCEDURE_EVENTS = frozenset(
    {
        "view_step",
        "view_item_list",
        "add_to_cart",
        "remove_from_cart",
        "add_payment_info",
        "begin_checkout",
        "purchase",
        "execution",
    }
)
# Wire names only Koalect sends, and the GA4 names it shares (for sniffing).
KOALECT_ONLY = frozenset(
    {"view_step", "checkout", "transaction", "execution", "view_update", "click_link", "register"}
)
SHARED = frozenset(
    {"view_item_list", "add_to_cart", "remove_from_cart", "add_payment_info", "share", "search", "login"}
)
# Root keys only Koalect sends: its names for GA4's ``method`` and its target fields.
KOALECT_KEYS = frozenset(
    {"share_method", "auth_method", "target_id", "target_type", "target_params", "traget_name"}
)
# Keys of a Universal Analytics ``ecommerce`` object: a UA ``checkout`` is not Koalect's.
UA_KEYS = frozenset(
    {"currencyCode", "checkout", "purchase", "add", "remove", "detail", "click", "impressions", "refund"}
)

# Root keys renamed to a canonical parameter, per canonical event.
RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "share": (("share_method", "method"),),
    "sign_up": (("auth_method", "method"),),
    "login": (("auth_method", "method"),),
}
TYPO = ("traget_name", "target_name")

# -- tables ------------------------------------------------------------------------
ROOT = Table(
    "Koalect event parameters (root keys, kept in properties under these names)",
    [
        Field("procedure_id", "procedure_id", ident, "procedure events; missing: warning"),
        Field("procedure_slug", "procedure_slug", string, "procedure events; missing: warning"),
        Field("procedure_category", "procedure_category", enum(CATEGORIES, "procedure category")),
        Field("procedure_target_type", "procedure_target_type", enum(TARGET_TYPES, "procedure target type")),
        Field("procedure_target_id", "procedure_target_id", ident, "procedure events; missing: warning"),
        Field("step_index", "step_index", integer, "view_step"),
        Field("step_name", "step_name", enum(STEP_NAMES, "step name"), "must fit procedure_category"),
        Field("execution_id", "execution_id", ident, "execution"),
        Field("project_id", "project_id", ident),
        Field("project_slug", "project_slug", string),
        Field("project_name", "project_name", string),
        Field("project_status", "project_status", string),
        Field("campaign_id", "campaign_id", ident),
        Field("invite_id", "invite_id", ident),
        Field("update_id", "update_id", ident, "view_update"),
        Field("target_id", "target_id", ident),
        Field("target_type", "target_type", string),
        Field("target_name", "target_name", string, "click_link"),
        Field("target_params", "target_params", obj, "click_link"),
        Field("search_term", "search_term", string, "required on search"),
        Field("link_type", "link_type", string, "click_link"),
        Field("link_text", "link_text", string, "click_link"),
        Field("link_url", "link_url", string, "click_link"),
    ],
)

RENAMED = Table(
    "Koalect parameters renamed to GA4's",
    [
        Field("share_method", "method", string, "on share"),
        Field("auth_method", "method", string, "on register and login"),
        Field("traget_name", "target_name", string, "the click_link example's typo: VALUE_FILLED warning"),
    ],
)

_COMMERCE_DOCS = {
    "payment_type": Field(
        "payment_method", "payment_method", string, "Koalect's own values: bancontact, ..."
    ),
    "value": Field("value", "value", amount, "the event's value as Koalect states it"),
    "currency": Field(
        "currency",
        "currency",
        ga4.COMMERCE.by_wire["currency"].rule,
        "required with value, else filled from the property's default_currency (VALUE_FILLED)",
    ),
}
COMMERCE = Table(
    "Koalect ecommerce (GA4's, with payment_method)",
    [_COMMERCE_DOCS.get(f.wire, f) for f in ga4.COMMERCE.fields],
)

EXTRAS_PREFIX = "extras.ecommerce."
ECOMMERCE_EXTRAS = Table(
    "Koalect ecommerce keys with no Commerce home (validated, kept in extras.ecommerce)",
    [
        Field("category", EXTRAS_PREFIX + "category", enum(CATEGORIES, "procedure category")),
        Field("is_subscription", EXTRAS_PREFIX + "is_subscription", boolean),
        Field("target_id", EXTRAS_PREFIX + "target_id", ident),
        Field("target_type", EXTRAS_PREFIX + "target_type", enum(TARGET_TYPES, "target type")),
        Field(
            "fee",
            EXTRAS_PREFIX + "fee",
            amount,
            "a Decimal amount, checked against the currency's minor unit",
        ),
    ],
)


def read_renamed(name: str, props: dict[str, Any], root: dict[str, Any], issues: Issues) -> None:
    """Apply the renames of event ``name`` to ``props`` in place.

    A key sent under the canonical name where Koalect has its own (``method`` on a
    share) is no Koalect parameter: it moves to ``root`` (``extras["root"]``) and is
    rendered back as sent. ``traget_name`` is read as ``target_name`` with a warning,
    unless ``target_name`` is sent too.
    """
    for wire, canonical in RENAMES.get(name, ()):
        if canonical in props:
            root[canonical] = props.pop(canonical)
        if wire in props:
            _put(props, canonical, wire, props.pop(wire), issues)
    wire, canonical = TYPO
    if wire in props:
        if canonical in props:
            root[wire] = props.pop(wire)
        elif _put(props, canonical, wire, props.pop(wire), issues):
            issues.warning(
                ("$", wire),
                "VALUE_FILLED",
                f"expected {canonical!r}, got the misspelt {wire!r}; read as {canonical}. "
                f"Send it as {canonical!r}",
            )


def _put(props: dict[str, Any], canonical: str, wire: str, value: Any, issues: Issues) -> bool:
    if value is None:
        props[canonical] = None
        return True
    v = RENAMED.by_wire[wire].rule(value, ("$", wire), issues)
    if v is INVALID:
        return False
    props[canonical] = v
    return True


def check_procedure(
    name: str, wire: str, payload: dict[str, Any], values: dict[str, Any], issues: Issues
) -> None:
    """The procedure context of procedure events (canonical ``name``, sent as ``wire``)
    and the step of a view_step."""
    if name in PROCEDURE_EVENTS:
        for key in PROCEDURE_KEYS:
            if payload.get(key) in (None, ""):
                issues.warning(
                    ("$", key),
                    "RECOMMENDED_MISSING",
                    f"expected the procedure context {key!r} on {article(wire + ' event')}, got none; add it",
                )
    if name == "view_step":
        for key in ("step_index", "step_name"):
            if payload.get(key) in (None, ""):
                issues.warning(
                    ("$", key),
                    "RECOMMENDED_MISSING",
                    f"expected {key!r} on a view_step event, got none; add it",
                )
    step, category = values.get("step_name"), values.get("procedure_category")
    wanted = STEP_CATEGORY.get(step) if step is not None else None
    if wanted is not None and category is not None and category != wanted:
        issues.error(
            ("$", "step_name"),
            "VALUE_INVALID",
            f"expected the step {step!r} in {article(repr(wanted) + ' procedure')}, got procedure_category "
            f"{describe(category)}; send the step of {article(f'{category} procedure')} or fix the category",
        )


_SEPARATORS = re.compile(r"[\s,;|\"]+")  # a quoted cookie ("functional analytics") too


def parse_consent_cookie(value: str) -> list[str]:
    """The consent purposes in a ``koalect_consent`` cookie value, in order, each once.

    ``'functional analytics marketing'`` gives ``['functional', 'analytics', 'marketing']``.
    The value may be URL-encoded (``functional%20analytics``, ``functional+analytics``)
    and separated by spaces or commas; purposes are lower-cased. Anything that is not a
    string gives no purpose. Pure; never raises.
    """
    if not isinstance(value, str):
        return []
    out: list[str] = []
    for token in _SEPARATORS.split(unquote_plus(value).strip().lower()):
        if token and token not in out:
            out.append(token)
    return out
