"""Shared fixtures: a fresh, reproducible simulated cloud per test."""

from __future__ import annotations

import datetime as dt

import pytest

import kms_teach

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> kms_teach.Clock:
    """A frozen clock at 2026-01-01 09:00 UTC that moves only when advanced."""
    return kms_teach.Clock(START, frozen=True)


@pytest.fixture
def cloud(clock) -> kms_teach.Cloud:
    """An in-memory cloud with a frozen clock and a seeded random source."""
    return kms_teach.Cloud(clock=clock, seed=1234)


@pytest.fixture
def kms(cloud):
    """A boto3 KMS client in us-east-1, acting as the default account's root user."""
    return cloud.client("kms", region_name="us-east-1")


@pytest.fixture
def key_id(kms) -> str:
    """A fresh symmetric encryption KMS key."""
    return kms.create_key(Description="test key")["KeyMetadata"]["KeyId"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]
