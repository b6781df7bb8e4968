"""The field tables' writers (trackway.dialects.fields)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trackway.dialects.fields import ITEMS_APART, Field, Table
from trackway.model import Commerce, Item
from trackway.rules.values import string
from trackway.vendors.commanders_act import schema as ca
from trackway.vendors.ga4 import common as ga4
from trackway.vendors.koalect import schema as koalect

FULL_ITEM = Item(
    item_id="SKU_1",
    item_name="Tee",
    product_id="P1",
    price=Decimal("9.99"),
    quantity=2,
    discount=Decimal("1"),
    coupon="C",
    currency="EUR",
    brand="B",
    categories=["a", "b"],
    variant="red",
    list_id="L",
    list_name="List",
    index=3,
    affiliation="shop",
)
FULL_COMMERCE = Commerce(
    currency="EUR",
    value=Decimal("19.98"),
    revenue=Decimal("18"),
    tax=Decimal("1.5"),
    shipping=Decimal("0"),
    discount=Decimal("1.98"),
    coupon="C",
    transaction_id="T1",
    payment_method="card",
    shipping_tier="fast",
    status="in_progress",
    type="online",
    affiliation="shop",
    items=[FULL_ITEM],
)

# (table, struct, targets skipped)
CASES = [
    (ca.COMMERCE, FULL_COMMERCE, ITEMS_APART),
    (ca.COMMERCE, Commerce(), ITEMS_APART),
    (ca.ITEM, FULL_ITEM, frozenset({"product"})),
    (ca.PRODUCT, FULL_ITEM, frozenset()),
    (ca.PRODUCT, FULL_ITEM, frozenset({"price", "currency", "brand"})),
    (ca.PRODUCT, FULL_ITEM, frozenset({"price", "currency", "brand", "categories"})),
    (ca.PRODUCT, Item(item_id="only"), frozenset()),
    (ga4.COMMERCE, FULL_COMMERCE, ITEMS_APART),
    (ga4.ITEM, FULL_ITEM, frozenset()),
    (ga4.ITEM, Item(item_id="x", categories=["a", "b", "c", "d", "e", "f"]), frozenset()),
    (koalect.COMMERCE, FULL_COMMERCE, ITEMS_APART),
]


@pytest.mark.parametrize(("table", "struct", "skip"), CASES)
def test_write_attrs_writes_what_write_writes_for_the_structs_attributes(
    table: Table, struct: Any, skip: frozenset[str]
) -> None:
    canonical = {}  # in the table's order, the categories' items in their places
    for f in table.fields:
        if f.target.startswith("categories.") and "categories" not in skip:
            n = int(f.target.split(".")[1])
            canonical[f.target] = struct.categories[n] if n < len(struct.categories) else None
        elif f.target.isidentifier() and f.target not in skip:
            canonical[f.target] = getattr(struct, f.target)
    got = table.write_attrs(struct, skip)
    assert got == table.write(canonical)
    assert list(got) == list(table.write(canonical))  # the same order: the payload's bytes
    assert all(value is not None for value in got.values())
    assert not {table.by_wire[wire].target.split(".")[0] for wire in got} & skip


def test_the_product_is_written_in_the_tables_order_with_its_categories_in_their_place() -> None:
    got = ca.PRODUCT.write_attrs(FULL_ITEM)
    assert list(got) == ["id", "name", "price", "currency", "brand", "category_1", "category_2"]
    assert list(ca.PRODUCT.write_attrs(FULL_ITEM, frozenset({"categories", "price"}))) == [
        "id",
        "name",
        "currency",
        "brand",
    ]


def test_a_writer_is_made_once_per_skip_and_each_skip_gets_its_own() -> None:
    table = Table(
        "t", [Field("a", "item_id", string), Field("b", "item_name", string), Field("c", "x.y", string)]
    )
    item = Item(item_id="1", item_name="Tee")
    assert table.write_attrs(item) == {"a": "1", "b": "Tee"}
    assert table.write_attrs(item, frozenset({"item_id"})) == {"b": "Tee"}
    assert table.write_attrs(item) == {"a": "1", "b": "Tee"}  # the first writer, unchanged
    assert len(table._writers) == 2
