#!/usr/bin/env python3
"""A tiny authoritative DNS server for the e2e tests (stdlib only), UDP and TCP on ADDRESS:53.

dns_server.py ADDRESS LOG ANSWER [SUFFIX]
Answers every A query whose name ends in SUFFIX (all names without one) with ANSWER (a name
starting with "big." with 400 copies of it: a 6 KiB reply, only sent over TCP, as a real server
would truncate it over UDP), others with NXDOMAIN. Each query is logged to LOG as one line: "<proto> <source address> <name>".
"""
import socket
import struct
import sys
import threading

address, log_path, answer = sys.argv[1], sys.argv[2], sys.argv[3]
suffix = sys.argv[4].lower() if len(sys.argv) > 4 else ""
log_lock = threading.Lock()


def parse_name(msg, at):
    labels = []
    while msg[at]:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    return ".".join(labels).lower(), at + 1


def reply(query, proto, source):
    qid, _flags, _qd = struct.unpack("!HHH", query[:6])
    name, end = parse_name(query, 12)
    qtype = struct.unpack("!H", query[end:end + 2])[0]
    question = query[12:end + 4]
    with log_lock, open(log_path, "a") as log:
        log.write(f"{proto} {source} {name}\n")
    if suffix and not (name == suffix or name.endswith("." + suffix)):
        return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    if qtype != 1:
        return struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(answer)
    count = 400 if name.startswith("big.") else 1
    if count > 1 and proto == "udp":
        return struct.pack("!HHHHHH", qid, 0x8780, 1, 0, 0, 0) + question  # TC: ask over TCP
    return struct.pack("!HHHHHH", qid, 0x8580, 1, count, 0, 0) + question + rr * count


def serve_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 53))
    while True:
        data, peer = s.recvfrom(4096)
        try:
            s.sendto(reply(data, "udp", peer[0]), peer)
        except (IndexError, struct.error, UnicodeError):
            pass


def serve_conn(c, peer):
    with c:
        while True:
            head = c.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            data = c.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
            out = reply(data, "tcp", peer[0])
            c.sendall(struct.pack("!H", len(out)) + out)


def serve_tcp():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, 53))
    s.listen(64)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve_conn, args=(c, peer), daemon=True).start()


threading.Thread(target=serve_tcp, daemon=True).start()
serve_udp()
