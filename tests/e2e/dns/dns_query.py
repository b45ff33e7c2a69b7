#!/usr/bin/env python3
"""A DNS client for the e2e tests (stdlib only): what a pod's resolver sends to its nameserver.

dns_query.py SERVER udp NAME [TIMEOUT]   one A query; prints the first A record, exit 1 on none
dns_query.py SERVER tcp NAME1 NAME2      two A queries pipelined on one TCP connection (as glibc
                                         sends A and AAAA); prints both answers in query order
dns_query.py SERVER garbage              sends malformed datagrams, exit 0 when none is answered
"""
import random
import socket
import struct
import sys

server, mode = sys.argv[1], sys.argv[2]


def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def first_a(msg, qid):
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid or not flags & 0x8000 or an < 1:
        raise SystemExit(f"bad reply: id {rid} (want {qid}), flags {flags:#x}, answers {an}")
    at = 12
    while msg[at]:
        at += 1 + msg[at]
    at += 5  # root label, qtype, qclass
    for _ in range(an):
        at += 2  # compressed owner name
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[at:at + 10])
        at += 10
        if rtype == 1:
            return socket.inet_ntoa(msg[at:at + 4])
        at += rdlen
    raise SystemExit("no A record")


def read_framed(s):
    head = s.recv(2, socket.MSG_WAITALL)
    if len(head) < 2:
        raise SystemExit("connection closed")
    return s.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)


if mode == "udp":
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 5
    qid = random.randrange(1, 65536)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((server, 53))
    try:
        s.send(query(sys.argv[3], qid))
        print(first_a(s.recv(4096), qid))
    except OSError as e:
        raise SystemExit(f"no answer: {e}")
elif mode == "tcp":
    ids = random.sample(range(1, 65536), 2)
    s = socket.create_connection((server, 53), timeout=5)
    s.sendall(b"".join(struct.pack("!H", len(m)) + m
                       for m in (query(sys.argv[3], ids[0]), query(sys.argv[4], ids[1]))))
    print(first_a(read_framed(s), ids[0]), first_a(read_framed(s), ids[1]))
elif mode == "garbage":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((server, 53))
    reply_to_real = query("x.example", 7)
    bad = [b"", b"\x00" * 5, reply_to_real[:12], b"\x12\x34\x81\x80" + reply_to_real[4:],
           reply_to_real[:2] + b"\x01\x00\x00\x02" + reply_to_real[6:],
           reply_to_real[:12] + b"\xc0\x0c\x00\x01\x00\x01", reply_to_real + b"\0" * 5000]
    for b in bad:
        try:
            s.send(b)
        except OSError:
            pass
    try:
        s.recv(4096)
        raise SystemExit("a malformed query was answered")
    except socket.timeout:
        pass
    except ConnectionRefusedError:
        raise SystemExit("nothing listens")
