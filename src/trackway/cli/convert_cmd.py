"""``trackway convert``: render payloads in another dialect (plain lines, no rich: it starts fast)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click

import trackway
from trackway import vendors
from trackway.cli.dialect_params import check_dialect, check_target
from trackway.cli.inputs import read_sources
from trackway.cli.output import print_json
from trackway.cli.style import err, issue_line, unreadable
from trackway.dialects.base import EncodeOptions
from trackway.errors import ParseError

# Named sets of encoder options, declared by the vendors (trackway.vendors.Vendor.presets).
PRESETS: dict[str, Mapping[str, Any]] = {"none": {}} | vendors.presets()


@click.command()
@click.option(
    "--from",
    "source",
    default="auto",
    show_default=True,
    callback=check_dialect,
    help="Dialect of the input payloads, or auto.",
)
@click.option("--to", "target", required=True, callback=check_target, help="Dialect to render.")
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="none",
    show_default=True,
    help="A named set of encoder options declared by a vendor (docs/vendors/): "
    + "; ".join(f"{name} = {dict(options)}" for name, options in PRESETS.items() if options),
)
@click.option(
    "--hash-transaction-id", is_flag=True, default=None, help="Write transaction ids as their SHA-256 hex."
)
@click.option("--checkout-step", type=int, help="UA checkout step to write when the event has none.")
@click.option(
    "--order-discount-coupon", metavar="VALUE", help="orderDiscountCoupon default for order coupons."
)
@click.option(
    "--form",
    type=click.Choice(["call", "server", "post"]),
    help="Payload form where the target has two (Commanders Act call/server, Convead call/post).",
)
@click.option("--default-currency", metavar="CODE", help="Currency for dialects that carry none (Convead).")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
def convert(
    source: str,
    target: str,
    preset: str,
    hash_transaction_id: bool | None,
    checkout_step: int | None,
    order_discount_coupon: str | None,
    form: str | None,
    default_currency: str | None,
    files: tuple[str, ...],
) -> None:
    """Render the payloads of FILES (or stdin) in another dialect.

    Prints a JSON array of the rendered payloads; issues go to stderr. Exit status:
    1 if any payload had an error (it is not rendered), 2 for unreadable input.
    """
    chosen: dict[str, Any] = dict(PRESETS[preset])
    for key, value in (
        ("hash_transaction_id", hash_transaction_id),
        ("checkout_step", checkout_step),
        ("order_discount_coupon", order_discount_coupon),
        ("form", form),
    ):
        if value is not None:
            chosen[key] = value
    options = EncodeOptions(**chosen)
    try:
        payloads = read_sources(files)
    except (ParseError, OSError) as exc:
        unreadable(exc)
        sys.exit(2)
    rendered: list[Any] = []
    failed = False
    for index, payload in enumerate(payloads):
        result = trackway.convert(
            payload.value, source, target, options, default_currency=default_currency, callee=payload.callee
        )
        rendered.extend(result.payloads)
        failed |= not result.valid
        for issue in result.issues:
            err.line(issue_line(err, issue, prefix=f"{payload.source} #{index} {result.source}→{target}: "))
    print_json(rendered)
    sys.exit(1 if failed else 0)
