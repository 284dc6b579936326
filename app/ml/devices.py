"""Device helpers: resolving `auto`, and turning out-of-memory into an error code that frees memory."""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from app.errors import ServiceError

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def is_device_failure(error: BaseException) -> bool:
    """A CUDA failure other than running out of memory: the process's GPU context is no longer usable."""
    text = str(error)
    return any(marker in text for marker in ("CUDA error", "cuDNN error", "CUBLAS_STATUS", "CUDA driver"))


def free_memory() -> None:
    """Collect what is no longer referenced now, and hand the memory torch's CUDA allocator keeps back to the
    device."""
    gc.collect()
    # torch is not imported here: until something imports it, its allocator holds nothing.
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextmanager
def device_failures_as_errors(stage: str) -> Iterator[None]:
    """Run a stage; running out of memory frees what it can and becomes `out_of_memory`, and a broken GPU
    becomes `device_error` (the worker should be replaced)."""
    try:
        yield
    except ServiceError:
        raise
    except (RuntimeError, MemoryError) as error:
        if isinstance(error, MemoryError) or is_out_of_memory(error):
            log.warning("%s ran out of memory; freeing cached memory", stage)
            free_memory()
            raise ServiceError(
                "out_of_memory", f"The {stage} stage ran out of memory; try a smaller model or batch size."
            ) from None
        if is_device_failure(error):
            log.error("%s hit an unrecoverable device error: %s", stage, type(error).__name__)
            raise ServiceError(
                "device_error", f"The device failed during {stage}; retry the request."
            ) from None
        raise


def beside(work: Callable[[], T], *, torch_threads: int | None = None) -> Future[T]:
    """`work` started on a thread of its own; with `torch_threads`, its torch work runs on that many intra-op
    threads. OpenMP keeps the count per thread, so the stages it runs beside keep theirs; but setting it also
    sets the count that new threads start with, so once the new thread has taken its count the caller sets its
    own back, and with it that default."""
    import torch

    caller = torch.get_num_threads()
    taken = threading.Event()

    def run() -> T:
        try:
            if torch_threads:
                # torch sets a thread's count up on its first use, from that default: let it do so first.
                torch.get_num_threads()
                torch.set_num_threads(torch_threads)
        finally:
            taken.set()
        return work()

    pool = ThreadPoolExecutor(1, thread_name_prefix="beside")
    try:
        future = pool.submit(run)
    finally:
        pool.shutdown(wait=False)
    taken.wait()
    if torch_threads:
        torch.set_num_threads(caller)
    return future


def device_usable(device: str) -> None:
    """Run one small computation on `device`; raises when the device cannot compute."""
    import torch

    probe = torch.ones(8, device=device) * 2
    if float(probe.sum().item()) != 16.0:
        raise RuntimeError(f"{device} computed a wrong result")
