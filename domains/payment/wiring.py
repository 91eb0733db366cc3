"""The payment domain's parts: coin packs and store purchases."""

from __future__ import annotations

from domains.payment.schema import PaymentMutation, PaymentQuery
from domains.payment.service import (
    NoStoreVerifier,
    PaymentService,
    ReceiptVerifier,
    SandboxVerifier,
    load_coin_packs,
)
from domains.payment.services import PaymentServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[PaymentServices] = Domain(
    "payment", query=(PaymentQuery,), mutation=(PaymentMutation,)
)


def wire(core: Core, verifier: ReceiptVerifier | None = None) -> Parts[PaymentServices]:
    packs = load_coin_packs(core.settings.coin_packs_file)
    if verifier is None:
        verifier = SandboxVerifier() if core.settings.development else NoStoreVerifier()
    return Parts(PaymentServices(PaymentService(core.store, verifier, packs)))
