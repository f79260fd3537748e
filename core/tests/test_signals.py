"""stop_on_signals: the one way the long-running commands stop on SIGTERM and Ctrl-C."""

import os
import signal
import threading

import pytest

from core.signals import stop_on_signals


@pytest.fixture
def own_handlers():
    """Handlers of the test's own for SIGINT and SIGTERM while it runs, so a stray signal fails the
    test instead of stopping pytest; the ones pytest had come back after it."""
    stray = []
    previous = {
        signum: signal.signal(signum, lambda signum, _frame: stray.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    yield stray
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_requests_a_stop_and_the_previous_handlers_come_back(own_handlers, signum):
    stops = []
    before = signal.getsignal(signum)
    with stop_on_signals(lambda: stops.append("stop")):
        os.kill(os.getpid(), signum)
    assert stops == ["stop"]
    assert signal.getsignal(signum) is before
    assert own_handlers == []


def test_a_second_signal_interrupts_when_asked_to(own_handlers):
    stops = []
    with stop_on_signals(lambda: stops.append("stop"), second_interrupts=True):
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert stops == ["stop"]


def test_without_it_a_second_signal_requests_the_stop_again(own_handlers):
    stops = []
    with stop_on_signals(lambda: stops.append("stop")):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
    assert stops == ["stop", "stop"]


def test_outside_the_main_thread_nothing_is_installed(own_handlers):
    seen = []

    def in_thread():
        with stop_on_signals(lambda: None):
            seen.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert seen == [signal.getsignal(signal.SIGTERM)]
