#!/usr/bin/env python3
"""idle_clients.py PORT COUNT: hold COUNT idle SMTP connections to 127.0.0.1:PORT.

Connects them, reads each greeting, prints "ready N" (N: how many were
greeted) and then says nothing until its standard input is closed; then it
closes them all and exits.  Used by bench/idle; needs a descriptor limit
above COUNT (bench/idle raises it).
"""
import selectors
import socket
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
selector = selectors.DefaultSelector()
pending = {}
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setblocking(False)
    pending[s] = b""
    selector.register(s, selectors.EVENT_READ)
greeted = []
deadline = time.monotonic() + 60
while pending and time.monotonic() < deadline:
    for key, _ in selector.select(max(deadline - time.monotonic(), 0)):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        pending[s] += data
        if not data or b"\r\n" in pending[s]:
            selector.unregister(s)
            if pending.pop(s).startswith(b"220"):
                greeted.append(s)
print("ready %d" % len(greeted), flush=True)
sys.stdin.read()
for s in greeted + list(pending):
    s.close()
