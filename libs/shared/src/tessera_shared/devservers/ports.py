"""Finding and waiting for TCP ports on the loopback interface."""

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_greeting(port: int, send: bytes, expect: bytes, timeout: float) -> bool:
    """Connect, optionally send a probe, and wait until the answer starts with `expect`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as conn:
                if send:
                    conn.sendall(send)
                if conn.recv(4096).startswith(expect):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False
