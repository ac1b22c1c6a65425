"""Many small K-Means fits side by side, each on one thread.

scikit-learn runs each K-Means fit on OpenMP threads, one a core, that meet at a barrier
after every pass over the rows and spin while they wait for one another. The k sweep and
the stability resamples are hundreds of fits, most of them small; with a core taken by
another process every pass waits for the thread that shares it, and a second reportgen
run beside ours made the segmentation stage 12-17 times slower (benchmarks/bench_busy.py).
Here the fits are spread over a pool of Python threads instead, one fit a thread, each
fit on one OpenMP thread (scikit-learn's Lloyd iterations let go of the GIL): no fit
waits for another, a busy core slows only the fit it holds, and a quiet machine still has
every core working.

Small fits (the stability resamples, a sweep of a few thousand customers) run one after
the other on one thread: measured on 2,000 customers, 360 resample fits took 1.43 s so,
1.74 s on scikit-learn's threads, and more again side by side in the pool.

Every fit is seeded and runs on one thread, so its result does not depend on the number of
cores or the order the pool takes the fits in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

from threadpoolctl import threadpool_limits

Item = TypeVar("Item")
Result = TypeVar("Result")
Other = TypeVar("Other")


def cores() -> int:
    """The cores this process may use: its CPU affinity, and OMP_NUM_THREADS when the user
    set it lower (as they would to leave cores to other jobs)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", "") or available)
    except ValueError:
        wanted = available
    return max(1, min(available, wanted))


def each_on_one_thread(function: Callable[[Item], Result], items: Iterable[Item],
                       side_by_side: bool = True) -> list[Result]:
    """`function` of every item, in the items' order, each call with OpenMP and BLAS on one
    thread: at most `cores()` at a time, or one after another when the calls are too small
    to gain (`side_by_side` False): a fit of a few thousand rows is half Python, which
    holds the GIL, and two of them side by side took longer than one after the other."""
    work = list(items)
    workers = min(cores(), len(work)) if side_by_side else 1
    with threadpool_limits(limits=1):  # BLAS for the whole process, OpenMP for this thread
        if workers <= 1:
            return [function(item) for item in work]
        with ThreadPoolExecutor(workers, thread_name_prefix="reportgen-fit",
                                initializer=_one_openmp_thread) as pool:
            return list(pool.map(function, work))


def beside(first: Callable[[], Result], second: Callable[[], Other],
           side_by_side: bool = True) -> tuple[Result, Other]:
    """Both results, worked out at once (each_on_one_thread of the two): each on one BLAS
    and one OpenMP thread, one after the other on one core or when the work is too small
    to gain (`side_by_side` False).

    For the sweep's scores beside the stability resamples: the silhouettes are matrix
    products and the resamples small fits, and each left a core idle while the other ran
    (1M customers: 0.8-1.0 s and 1.0-1.1 s in turn, 1.2-1.4 s side by side). A sweep of a
    few thousand rows gains nothing, and keeps to one thread: no pool, as before. On one
    thread each, the figures do not depend on the cores or on which finishes first; the
    limits hold until both have ended (threadpoolctl's BLAS limit is the process's).
    """
    done = each_on_one_thread(_call, [first, second], side_by_side=side_by_side)
    return cast(Result, done[0]), cast(Other, done[1])


def _call(work: Callable[[], object]) -> object:
    return work()


def _one_openmp_thread() -> None:
    """OpenMP's thread count is a setting of each thread: a new thread starts with the
    process's default (every core), so each worker sets its own, once."""
    threadpool_limits(limits=1, user_api="openmp")
