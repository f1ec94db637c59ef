# A server that reads 5 of the 27 request bytes, answers and closes: the kernel resets (RFC 2525),
# though the wire shows every byte acknowledged. For the live test of `teardown capture -w x.pcapng`.
import socket, threading
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(1)
port = listener.getsockname()[1]
def serve():
    conn, _ = listener.accept()
    conn.recv(5)                      # reads 5 of the 27 request bytes
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
    conn.close()                      # 22 bytes unread: the kernel resets
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
t.join()
try: c.recv(100)
except OSError: pass
c.close()
