"""Network guard for every Python process of a test run (loaded through PYTHONPATH).

An audit hook that blocks and logs any non-loopback DNS lookup or connect (but to the test's own
network-namespace hosts named in $NETGUARD_OWN_HOSTS), as the workspace's own network guard does.
The test suite fails any test during which
the log grows, so an attempt in a subprocess is caught too.
"""

import os
import sys
import time

_LOG = os.environ.get("NETGUARD_LOG", "/tmp/netguard.log")
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0", "::ffff:127.")
# The project's own test hosts (network namespaces a test made, e.g. 10.77.0.1): exact addresses only,
# set by that test for the processes it starts there.
_OWN_HOSTS = frozenset(h for h in os.environ.get("NETGUARD_OWN_HOSTS", "").split(",") if h)


def _record(msg: str) -> None:
    try:  # the log named now: a pytest-xdist worker inherits the guard from its start and names its own log later
        with open(os.environ.get("NETGUARD_LOG", _LOG), "a") as fh:
            argv0 = sys.argv[0] if sys.argv else ""
            fh.write(f"{time.strftime('%H:%M:%S')} pid={os.getpid()} argv0={argv0} {msg}\n")
    except OSError:
        pass


def _is_loopback(host: str) -> bool:
    return host == "" or host.startswith(_LOOPBACK) or host in _OWN_HOSTS


def _hook(event: str, args: tuple) -> None:
    if event == "socket.getaddrinfo":
        host = args[0]
        host = host.decode() if isinstance(host, bytes) else str(host or "")
        if not _is_loopback(host):
            _record(f"BLOCKED getaddrinfo {args[:2]}")
            raise PermissionError(f"netguard: DNS lookup of {host} blocked")
    elif event == "socket.gethostbyname":
        host = str(args[0])
        if not _is_loopback(host):
            _record(f"BLOCKED gethostbyname {host}")
            raise PermissionError(f"netguard: DNS lookup of {host} blocked")
    elif event == "socket.connect":
        addr = args[1]
        if isinstance(addr, tuple) and not _is_loopback(str(addr[0])):
            _record(f"BLOCKED connect {addr}")
            raise PermissionError(f"netguard: connect to {addr} blocked")


if not getattr(sys, "_yolodeck_netguard", False):
    sys._yolodeck_netguard = True
    sys.addaudithook(_hook)
