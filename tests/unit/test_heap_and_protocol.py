"""The worker's heap meters on real allocations, and the protocol's checks."""

from __future__ import annotations

import pytest

from session_store_harness.model.run import MB
from session_store_harness.worker.heap import AllocatorMeter, TracemallocMeter
from session_store_harness.worker.protocol import ProtocolError, decode, encode


@pytest.mark.parametrize("meter_class", [AllocatorMeter, TracemallocMeter])
def test_heap_sees_a_real_allocation_and_its_release(meter_class) -> None:
    meter = meter_class()
    try:
        base, _ = meter.read()
        blob = [bytes([i % 251]) * 1024 for i in range(40 * 1024)]  # 40 MiB in 1 KiB objects
        grown, external = meter.read()
        del blob
        released, _ = meter.read()
    finally:
        meter.close()
        if meter_class is TracemallocMeter:
            import tracemalloc
            tracemalloc.stop()
    assert 38 * MB < grown - base < 48 * MB
    assert released - base < 5 * MB
    assert external >= 0


def test_protocol_round_trip_and_refusals() -> None:
    message = {"type": "done", "cycles": 3}
    assert decode(encode(message).strip()) == message
    for line, fragment in [(b"garbage", "not JSON"), (b'{"type": "nope"}', "unknown"),
                           (b'{"type": "sample", "cycle": 1}', "lacks")]:
        with pytest.raises(ProtocolError, match=fragment):
            decode(line)
