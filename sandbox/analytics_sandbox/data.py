"""Realistic, deterministic values: names with unicode, timestamps, nulls."""

from __future__ import annotations

import datetime as dt
import random

FIRST = ["Ada", "Zoë", "José", "Łukasz", "Siobhán", "Mei", "Ngozi", "Søren", "Chloé", "Ravi", "Björk"]
LAST = ["Lovelace", "Ångström", "Núñez", "Kowalski", "O'Brien", "王", "Okafor", "Dubois", "Patel"]
WORDS = [
    "Revenue",
    "Funnel",
    "Churn",
    "Café ☕",
    "Pipeline",
    "Cohorts",
    "北区",
    "Growth 🚀",
    "Ops",
    "Retention",
]
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def email(index: int, rng: random.Random) -> str:
    return f"{rng.choice(FIRST).lower().replace('ë', 'e')}.{index}@example.org"


def title(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()}"


def timestamp(rng: random.Random, days: int = 600) -> str:
    moment = EPOCH + dt.timedelta(seconds=rng.randrange(days * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def maybe(rng: random.Random, value: object, null_share: float = 0.15) -> object:
    """The value, or None now and then: the documents allow nulls."""
    return None if rng.random() < null_share else value
