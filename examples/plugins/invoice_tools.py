"""Example plugin: ``invoice_total`` adds up invoice line items (rows as a CSV file gives them).

``make dev`` loads it (``OPENRUNS_PLUGINS=examples.plugins.invoice_tools``);
``examples/processes/invoice_total.yaml`` uses it. Amounts are computed with ``Decimal`` and
rounded half-up to cents, so 0.1 + 0.2 is 0.30, not 0.30000000000000004.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openruns.plugins import step

CENT = Decimal("0.01")


class LineItem(BaseModel):
    """One invoice row; numbers may be strings, as CSV rows carry them."""

    description: str = Field(min_length=1)
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class InvoiceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[LineItem] = Field(min_length=1, description="The invoice's line items.")
    tax_rate: Decimal = Field(Decimal("0.2"), ge=0, le=1, description="0.2 is 20 % tax.")


def _money(amount: Decimal) -> float:
    return float(amount.quantize(CENT, rounding=ROUND_HALF_UP))


@step(
    "invoice_total",
    args=InvoiceArgs,
    description="Total invoice line items: {description, quantity, unit_price} rows → "
    "{subtotal, tax, total, lines}.",
    timeout=10,
    retry={"max_attempts": 2},
)
def invoice_total(args: InvoiceArgs) -> dict[str, Any]:
    subtotal = sum((row.quantity * row.unit_price for row in args.rows), Decimal(0))
    tax = (subtotal * args.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    subtotal = subtotal.quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "subtotal": _money(subtotal),
        "tax": _money(tax),
        "total": _money(subtotal + tax),
        "lines": len(args.rows),
    }
