#!/usr/bin/env python3
"""Slow clients against baove-api, for bench/hostile.sh (loopback only).

Opens SOCKETS connections spread over ADDRESSES source addresses
127.0.0.2.. and sends one header byte per connection every INTERVAL
seconds, reopening what the server closes, for SECONDS; meanwhile an honest
client asks GET /v1/me every 50 ms.  Samples the API's threads and RSS.
Prints one JSON line of figures.  Usage:
  slow_clients.py PORT TOKEN API_PID SOCKETS ADDRESSES INTERVAL SECONDS
"""
import json, socket, sys, threading, time, urllib.request

port, token, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
count, addresses, interval, seconds = (int(sys.argv[4]), int(sys.argv[5]),
                                       float(sys.argv[6]), float(sys.argv[7]))

def status_field(name):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return -1

def open_slow(index):
    s = socket.socket()
    s.setblocking(True)
    s.bind((f"127.0.0.{2 + index % addresses}", 0))
    try:
        s.connect(("127.0.0.1", port))
        s.send(b"GET /v1/me HTTP/1.1\r\nX-Slow: ")
        s.setblocking(False)
        return s
    except OSError:
        s.close()
        return None

honest = {"attempts": 0, "ok": 0, "latencies": []}
stop = time.time() + seconds

def ask():
    while time.time() < stop:
        started = time.time()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/me",
                                         headers={"Authorization": "Bearer " + token})
        honest["attempts"] += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                honest["ok"] += response.status == 200
        except Exception:
            pass
        honest["latencies"].append(time.time() - started)
        time.sleep(0.05)

sockets = [open_slow(i) for i in range(count)]
opened = sum(s is not None for s in sockets)
thread = threading.Thread(target=ask)
thread.start()
threads = rss = 0
cut = 0
while time.time() < stop:
    time.sleep(interval)
    for i, s in enumerate(sockets):
        if s is None:
            sockets[i] = open_slow(i)
            continue
        try:
            if s.recv(1, socket.MSG_DONTWAIT) == b"":
                raise ConnectionResetError
        except BlockingIOError:
            try:
                s.send(b"x")
                continue
            except OSError:
                pass
        except OSError:
            pass
        s.close()
        cut += 1
        sockets[i] = open_slow(i)
    threads = max(threads, status_field("Threads"))
    rss = max(rss, status_field("VmRSS"))
thread.join()
for s in sockets:
    if s is not None:
        s.close()
latencies = sorted(honest["latencies"])
print(json.dumps({"slow_sockets_opened": opened, "slow_requests_cut": cut,
                  "honest_attempts": honest["attempts"], "honest_ok": honest["ok"],
                  "honest_success_percent": round(100.0 * honest["ok"] / max(1, honest["attempts"]), 2),
                  "honest_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
                  "api_threads_max": threads, "api_rss_max_kib": rss}))
