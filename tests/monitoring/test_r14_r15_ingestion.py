"""R14 (sign-ins up to 30 min late: missed 0, double counted 0) and R15 (reporting API 5 requests / 10 s:
requests over limit 0, data lost 0), against the emulator at time-scale 600 (1 s = 10 min)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from emulator import EmulatorConfig, serve
from shared.handlers.ingest_signins import IngestSettings, ingest_signins
from tests.monitoring.ingest_rig import counted, ingest_ports, queue_sign_ins, reporting_429s

SCALE = 600.0
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def scaled_settings(scale: float = SCALE) -> IngestSettings:
    return IngestSettings(overlap_s=35 * 60 / scale, fresh_overlap_s=10 * 60 / scale, first_lookback_s=60 * 60 / scale,
                          min_slice_s=60 / scale, backoff_s=2 / scale)  # fmt: skip


@pytest.mark.parametrize("skipped_ticks", [0, 3])
async def test_r14_late_sign_ins_missed_0_double_counted_0(tmp_path: Path, skipped_ticks: int) -> None:
    rng = random.Random(14)
    async with (
        serve(EmulatorConfig(port=0, time_scale=SCALE)) as emulator,
        httpx.AsyncClient(base_url=emulator.graph_url, timeout=30) as client,
    ):
        ports, store, _ = ingest_ports(emulator, client, tmp_path)
        settings = scaled_settings()
        expected: list[str] = []
        ingested: list[str] = []
        interval = 5 * 60 / SCALE
        for tick in range(24):  # two simulated hours of 5-minute ticks
            if tick < 8:
                expected += queue_sign_ins(emulator, 25, rng, late_share=0.3)
            if not (4 <= tick < 4 + skipped_ticks):  # R13: missed timer runs
                ingested += (await ingest_signins(datetime.now(UTC), ports, settings)).new_ids
            await asyncio.sleep(interval)
        assert len(emulator.tenant.arrivals) == 0, "every record has arrived by the end"
        missed = len(set(expected) - set(ingested))
        double_counted = await counted(store) - len(set(ingested))
        assert len(ingested) == len(set(ingested))
        late = sum(1 for p in await store.points("signin.ingest_lag_s", *EVER) if p.value > 5 * 60 / SCALE)
        assert late > 0, "some records arrived later than the 5-minute typical delay"
        assert (missed, double_counted) == (0, 0), f"missed {missed}, double counted {double_counted}"


async def test_r15_limiter_keeps_requests_over_limit_at_0(tmp_path: Path) -> None:
    async with serve(EmulatorConfig(port=0, time_scale=SCALE)) as emulator:
        for _ in range(3):
            queue_sign_ins(emulator, 400, random.Random(15), late_share=0)
        emulator.tenant.arrivals.release_due(emulator.tenant.state, everything=True)
        async with httpx.AsyncClient(base_url=emulator.graph_url, timeout=30) as client:
            ports, store, _ = ingest_ports(emulator, client, tmp_path, page_size=50)  # 24 pages
            result = await ingest_signins(datetime.now(UTC), ports, scaled_settings())
            over_limit = reporting_429s(emulator)
            assert over_limit == 0, f"requests over limit {over_limit}"
            assert result.requests >= 24 and result.throttled == 0
            lost = 1200 - await counted(store)
            assert lost == 0, f"data lost {lost}"


async def test_r15_a_limiter_above_the_cap_is_throttled_narrows_slices_and_loses_nothing(tmp_path: Path) -> None:
    async with serve(EmulatorConfig(port=0, time_scale=10)) as emulator:  # 5 requests per second
        queue_sign_ins(emulator, 600, random.Random(16), late_share=0)
        emulator.tenant.arrivals.release_due(emulator.tenant.state, everything=True)
        async with httpx.AsyncClient(base_url=emulator.graph_url, timeout=30) as client:
            ports, store, _ = ingest_ports(emulator, client, tmp_path, max_requests=50, page_size=25)
            result = await ingest_signins(datetime.now(UTC), ports, scaled_settings(10))
            assert result.throttled > 0 and reporting_429s(emulator) == result.throttled
            lost = 600 - await counted(store)
            assert lost == 0, f"data lost {lost}"
