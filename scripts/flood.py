#!/usr/bin/env python3
# Usage: scripts/flood.py HOST PORT SERVER_PID
# Floods a server with oversized report bodies (1 MiB each, half with
# Content-Length, half chunked) from 64 connections for 10 s, and prints the
# server's peak RSS.
import socket, sys, threading, time
host, port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stop = time.time() + 10
sent = [0]
def worker(chunked):
    body = b'{"nonce":"' + b'x' * (1 << 20) + b'"}'
    while time.time() < stop:
        try:
            s = socket.create_connection((host, port), timeout=5)
            if chunked:
                s.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(body), 65536):
                    part = body[i:i+65536]
                    s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            else:
                s.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            s.recv(4096); s.close(); sent[0] += 1
        except OSError:
            pass
threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(64)]
[t.start() for t in threads]; [t.join() for t in threads]
hwm = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0].split()[1]
print(f"{sent[0]} oversized requests answered; server peak RSS {int(hwm)/1024:.1f} MiB")
