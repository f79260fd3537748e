"""How a long-running command stops cleanly on SIGTERM (docker compose stop) or Ctrl-C (SIGINT)."""

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None], *, second_interrupts: bool = False) -> Iterator[None]:
    """Within the block SIGTERM and SIGINT call `request_stop`, so the command's loop ends after its
    step and flushes; the handlers it replaced come back when the block ends.

    `second_interrupts`: a second signal while stopping raises KeyboardInterrupt instead (whoever
    presses Ctrl-C twice does not want to wait for a flush). Only the main thread may set signal
    handlers: called from another (a test running the command in a thread), nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = threading.Event()

    def on_signal(_signum, _frame) -> None:
        if second_interrupts and stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()
        request_stop()

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
