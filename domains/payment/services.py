"""The payment domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.payments`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.payment.service import PaymentService


@dataclass(frozen=True)
class PaymentServices:
    payments: PaymentService
