"""client.capsules.metrics, stats and usage (contract §6.2)."""

from datetime import datetime, timedelta, timezone

import pytest
from wrenn import Capsule, WrennNotFoundError, WrennValidationError
from wrenn.models import CapsuleMetrics, CapsuleStats, UsageResponse

from _helpers import wait_until


def _utc_today():
    # Usage days are UTC days (contract §6.2, server defaults).
    return datetime.now(timezone.utc).date()


def test_metrics_of_a_running_capsule_has_samples(capsule, client):
    capsule.commands.run("head -c 20000000 /dev/zero | md5sum")
    metrics = wait_until(
        lambda: (m := client.capsules.metrics(capsule.capsule_id)).points and m,
        timeout=15,
        what="at least one metric point",
    )
    assert isinstance(metrics, CapsuleMetrics)
    assert metrics.sandbox_id in (None, capsule.capsule_id)
    latest = metrics.points[-1]
    assert latest.timestamp_unix and latest.timestamp_unix > 1_600_000_000
    assert latest.cpu_pct is not None and 0.0 <= latest.cpu_pct <= 100.0
    assert latest.mem_bytes is not None and latest.mem_bytes > 0
    stamps = [p.timestamp_unix for p in metrics.points]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("window", ["10m", "2h", "24h"])
def test_metrics_accepts_each_documented_range(capsule, client, window):
    metrics = client.capsules.metrics(capsule.capsule_id, range=window)
    assert metrics.range is None or metrics.range.value == window
    assert isinstance(metrics.points, list)


def test_metrics_of_unknown_capsule_is_not_found(client):
    with pytest.raises(WrennNotFoundError):
        client.capsules.metrics("cl-0000000000000000000000000")


def test_metrics_of_a_destroyed_capsule_is_not_found(janitor, client):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    c.destroy(wait=True)
    with pytest.raises(WrennNotFoundError):
        client.capsules.metrics(c.capsule_id)


def test_stats_count_the_running_capsule(capsule, client):
    stats = client.capsules.stats()
    assert isinstance(stats, CapsuleStats)
    assert stats.current is not None
    assert stats.current.running_count >= 1
    assert stats.current.vcpus_reserved >= 1
    assert stats.current.memory_mb_reserved >= 1


@pytest.mark.parametrize("window", ["5m", "1h", "6h", "24h", "30d"])
def test_stats_accepts_each_documented_range(client, window):
    stats = client.capsules.stats(range=window)
    assert stats.range is None or stats.range.value == window
    if stats.series is not None and stats.series.labels:
        assert all(label.tzinfo is not None for label in stats.series.labels)


def test_stats_rejects_an_unknown_range(client):
    with pytest.raises(WrennValidationError):
        client.capsules.stats(range="7y")


def test_usage_covers_the_asked_days(client):
    today = _utc_today()
    usage = client.capsules.usage(from_=today - timedelta(days=7), to=today)
    assert isinstance(usage, UsageResponse)
    assert usage.from_ == today - timedelta(days=7)
    assert usage.to == today
    for point in usage.points or []:
        assert usage.from_ <= point.date <= usage.to
        assert point.cpu_minutes >= 0 and point.ram_mb_minutes >= 0


def test_usage_defaults(client):
    usage = client.capsules.usage()
    assert usage.to is not None and usage.from_ is not None
    assert usage.from_ <= usage.to


def test_usage_rejects_from_after_to(client):
    today = _utc_today()
    with pytest.raises(WrennValidationError):
        client.capsules.usage(from_=today, to=today - timedelta(days=3))
