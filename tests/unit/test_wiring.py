"""Every domain folder with a `wiring.py` is composed: its Domain is in app.DOMAINS, its
services record (`services.py`) is part of app.Services, and the channels and read models
derived from the records hold each domain's pieces."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import app

DOMAINS_DIR = Path(app.__file__).resolve().parent / "domains"


def _wirings() -> list[str]:
    return sorted(p.parent.name for p in DOMAINS_DIR.glob("*/wiring.py"))


def test_every_domain_with_a_wiring_is_composed_in_layer_order() -> None:
    names = _wirings()
    assert len(names) >= 7
    composed = [d.name for d in app.DOMAINS]
    assert sorted(composed) == names
    for name in names:
        assert importlib.import_module(f"domains.{name}.wiring").DOMAIN in app.DOMAINS
        module = importlib.import_module(f"domains.{name}.services")
        records = [
            v
            for v in vars(module).values()
            if isinstance(v, type)
            and dataclasses.is_dataclass(v)
            and v.__module__ == module.__name__
        ]
        assert records, f"{name} declares no services record"
        for record in records:
            assert issubclass(app.Services, record), f"app.Services lacks {record.__name__}"


def test_channels_and_read_models_derive_from_the_records() -> None:
    assert set(app.channels()) == {
        "eventlog_events",
        "olo_balance",
        "olo_calls",
        "olo_earnings",
        "olo_notifications",
        "olo_presence",
        "olo_gallery",
        "olo_chat",
    }
    names = [p.name for p in app.projections()]
    assert len(names) == len(set(names))
    assert {"balance", "profile", "video.calls", "notification.items"} <= set(names)
