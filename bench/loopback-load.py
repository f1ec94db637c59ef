#!/usr/bin/env python3
"""Loopback load for the kernel's account (issue 21): N short connections on
127.0.0.1, as fast as one client can make them. The client sends 2 bytes, the
server answers 3 and closes first.

    sudo .build/release/teardown capture --format summary --snaplen 256 -w /tmp/load.pcapng \
        -- python3 bench/loopback-load.py 30000
    sudo .build/release/teardown capture --format summary --no-kernel-events \
        -- python3 bench/loopback-load.py 30000

Headers suffice for the account; whole packets (the default with -w) at this
rate need a larger capture buffer (-B 131072: bench/RESULTS.md, "Whole packets
under a loopback load"). teardown says on standard error how many events the
kernel's buffers lost, if any; then `teardown analyze --format json /tmp/load.pcapng` shows each
connection's states from the kernel. Results: bench/RESULTS.md, "The kernel's
account under a loopback load".
"""
import socket
import sys
import threading

count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(512)
port = listener.getsockname()[1]


def serve():
    for _ in range(count):
        connection, _ = listener.accept()
        connection.recv(100)
        connection.sendall(b"bye")
        connection.close()


server = threading.Thread(target=serve)
server.start()
for _ in range(count):
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"hi")
    client.recv(10)
    client.close()
server.join()
