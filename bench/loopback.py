"""The floor under CPU per order: what one request and its answer over loopback TCP cost in CPU
on this machine, with no Python framework at all, when exchanges come far apart (as at 40
orders/s) and back to back.

    .venv/bin/python -m bench.loopback              # 25 ms apart, then back to back

A client process sends a 400-byte request and reads a 300-byte answer from a server process,
each exchange ``gap`` seconds after the last. Both processes read their own CPU time, so the
figure is what the two pay together for one exchange: the system calls, the loopback TCP stack
and the wake-ups. Far apart, each wake-up finds a cold CPU (and, in a VM, costs an exit to the
hypervisor), which is why an order costs more CPU at 40/s than at saturation.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import time

REQUEST = b"q" * 400
ANSWER = b"a" * 300
ACCEPT_TIMEOUT_SECONDS = 30


def exchange_cpu_us(gap: float, count: int) -> float:
    """CPU microseconds, client and server together, per exchange."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(ACCEPT_TIMEOUT_SECONDS)  # a server whose client never came gives up
    address = listener.getsockname()
    report_read, report_write = os.pipe()
    server = os.fork()
    if server == 0:  # the server: answer each request, then report its own CPU
        try:
            connection, _ = listener.accept()
            connection.settimeout(None)
            started = time.process_time()
            while connection.recv(65536):
                connection.sendall(ANSWER)
            os.write(report_write, str(time.process_time() - started).encode())
        finally:
            os._exit(0)
    listener.close()
    os.close(report_write)
    try:
        client_cpu = _client(address, gap, count)
        os.waitpid(server, 0)
    except BaseException:
        os.kill(server, signal.SIGKILL)
        os.waitpid(server, 0)
        raise
    finally:
        with os.fdopen(report_read) as report:
            reported = report.read()
    if not reported:
        raise RuntimeError("the loopback server ended without reporting its CPU time")
    return (client_cpu + float(reported)) / count * 1e6


def _client(address: tuple[str, int], gap: float, count: int) -> float:
    """The client's CPU seconds for ``count`` exchanges ``gap`` seconds apart."""
    with socket.create_connection(address) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.process_time()
        for _ in range(count):
            client.sendall(REQUEST)
            client.recv(65536)
            time.sleep(gap)  # sleeping costs no CPU; the next wake-up is what is measured
        return time.process_time() - started


def measure(gap: float, count: int) -> dict[str, float]:
    """Far apart (``gap``) and back to back, the latter with ten times the exchanges."""
    return {
        "gap_seconds": gap,
        "apart_us": round(exchange_cpu_us(gap, count), 1),
        "back_to_back_us": round(exchange_cpu_us(0.0, 10 * count), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap", type=float, default=0.025, help="seconds between exchanges")
    parser.add_argument("--count", type=int, default=200, help="exchanges far apart")
    args = parser.parse_args()
    if args.gap < 0 or args.count < 1:
        parser.error("--gap must be at least 0 and --count at least 1")
    result = measure(args.gap, args.count)
    print(
        f"one exchange: {result['apart_us']:.0f} µs of CPU {args.gap * 1000:g} ms apart, "
        f"{result['back_to_back_us']:.0f} µs back to back"
    )


if __name__ == "__main__":
    main()
