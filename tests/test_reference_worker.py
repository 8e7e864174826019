"""The checks' reference worker: one process, reused, restarted when it dies, and never the
student's fault when it fails."""

from __future__ import annotations

import numpy as np
import pytest

from vgrad_course.grading import reference_worker
from vgrad_course.grading.registry import Fail

GRADS = {"g0": np.arange(6.0).reshape(2, 3), "g1": np.ones(4)}


def _worker():
    return reference_worker._STATE["worker"]


def test_one_worker_serves_every_request_and_repeats_are_memoised():
    first = reference_worker.ask("clip.global", {"max_norm": 1.0}, GRADS)
    worker, count = _worker(), _worker().count
    again = reference_worker.ask("clip.global", {"max_norm": 1.0}, GRADS)
    assert _worker() is worker and worker.count == count  # memoised: not asked again
    reference_worker.ask("clip.global", {"max_norm": 2.0}, GRADS)
    assert _worker() is worker and worker.count == count + 1
    assert first[0] == again[0] and np.array_equal(first[1]["c0"], again[1]["c0"])


def test_a_dead_worker_is_replaced_and_a_stopped_one_exits():
    reference_worker.ask("clip.global", {"max_norm": 3.0}, GRADS)
    old = _worker()
    old.proc.kill()
    old.proc.wait()
    result, _ = reference_worker.ask("clip.global", {"max_norm": 4.0}, GRADS)
    assert _worker() is not old and result["norm"] == pytest.approx(np.sqrt(55 + 4))
    proc = _worker().proc
    reference_worker.stop()
    assert proc.poll() is not None and _worker() is None


def test_a_failure_of_the_worker_is_not_blamed_on_the_answer():
    with pytest.raises(Fail, match="reference worker failed.*not a fault of your answer"):
        reference_worker.ask("no.such.task", {})
