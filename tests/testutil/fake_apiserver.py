#!/usr/bin/env python3
"""TLS fixture Kubernetes API server for splitnet tests (python3 stdlib + the openssl CLI).

Serves pods and NetworkAttachmentDefinitions from a directory of JSON files with the real REST
paths:
    <data>/pods/<ns>/<name>.json   GET /api/v1/namespaces/<ns>/pods/<name>
                                   PUT /api/v1/namespaces/<ns>/pods/<name>/status
    <data>/nads/<ns>/<name>.json   GET /apis/k8s.cni.cncf.io/v1/namespaces/<ns>/network-attachment-definitions/<name>
    <data>/events/<ns>/<name>.json POST /api/v1/namespaces/<ns>/events (201; 409 when the name
                                   exists; 422 when the API server's core/v1 Event validation
                                   refuses it); GET of the same path lists them
Missing objects give 404 Status objects. A status PUT stores metadata.annotations, bumps
metadata.resourceVersion (written back to the file) and answers 409 when the body's
resourceVersion is stale.

At start it creates a CA, a server certificate (SAN IP:127.0.0.1, IP:::1, DNS:localhost) and a
client certificate in a temp dir, then prints ONE JSON line on stdout when ready:
    {"port": N, "ca": path, "client_cert": path, "client_key": path, "dir": tmpdir}

Every request is appended as a JSON line to --log: {"method","path","body","status","conn"};
each TLS handshake as {"event":"handshake","conn":N}.

Faults: --control FILE (JSON, re-read on each request, counters written back):
    {"faults": [{"status": 503, "count": 2, "match": "/pods/"}], "delay_ms": 0,
     "close_after_response": false, "retry_after": "120"}
("retry_after": a Retry-After header sent with every injected fault; a fault with "hang_ms": N
holds the request N ms before answering, i.e. an API server that hangs)
or the same from the CLI: --fault STATUS:COUNT[:MATCH] (repeatable), --delay-ms N,
--no-listen (print a port where nothing listens: connections are refused),
--close-connections (answer with "Connection: close").
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_REASON = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
                 503: "ServiceUnavailable"}


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=splitnet-test-ca")

    def leaf(name, ext):
        key, csr, crt = (os.path.join(d, name + s) for s in (".key", ".csr", ".crt"))
        extfile = os.path.join(d, name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext)
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", extfile)
        return crt, key

    server = leaf("server", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                            "extendedKeyUsage=serverAuth\n")
    client = leaf("system:serviceaccount:kube-system:multus", "extendedKeyUsage=clientAuth\n")
    return ca, server, client


def fill_from_cache(cache, target):
    """Copies certificates from `cache`, generating it first (atomic rename) when needed.

    Test processes run in parallel and share the cache: a complete cache is never moved away
    while fresh (only a stale one is), a generated one loses quietly to one already in place,
    and a copy that finds a file gone (a stale cache replaced meanwhile) starts over."""
    import time

    def fresh_enough():
        marker = os.path.join(cache, "server.crt")
        return os.path.exists(marker) and time.time() - os.path.getmtime(marker) <= 86400

    for _ in range(5):
        if not fresh_enough():
            parent = os.path.dirname(os.path.abspath(cache))
            os.makedirs(parent, exist_ok=True)
            fresh = tempfile.mkdtemp(prefix=".certs-", dir=parent)
            make_certs(fresh)
            if os.path.exists(cache) and not fresh_enough():
                old = fresh + ".old"
                try:
                    os.rename(cache, old)
                    shutil.rmtree(old, ignore_errors=True)
                except OSError:
                    pass  # another process moved it first
            try:
                os.rename(fresh, cache)
            except OSError:
                shutil.rmtree(fresh, ignore_errors=True)  # another process won the race
        try:
            for name in os.listdir(cache):
                shutil.copy(os.path.join(cache, name), os.path.join(target, name))
            return
        except FileNotFoundError:
            continue
    raise RuntimeError("the certificate cache %s keeps changing" % cache)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.conn_counter = 0
        self.cli_faults = []
        for spec in args.fault or []:
            parts = spec.split(":", 2)
            self.cli_faults.append({"status": int(parts[0]), "count": int(parts[1]),
                                    "match": parts[2] if len(parts) > 2 else ""})

    def log(self, entry):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def control(self):
        if not self.args.control or not os.path.exists(self.args.control):
            return {}
        with open(self.args.control) as f:
            text = f.read().strip()
        return json.loads(text) if text else {}

    def take_fault(self, path):
        """Returns (fault, delay_ms, close) for this request, consuming a fault counter; fault is
        the matching fault object (a copy) or None."""
        with self.lock:
            ctl = self.control()
            delay = ctl.get("delay_ms", self.args.delay_ms)
            close = ctl.get("close_after_response", self.args.close_connections)
            for source, faults in (("control", ctl.get("faults", [])), ("cli", self.cli_faults)):
                for fault in faults:
                    if fault.get("count", 0) > 0 and fault.get("match", "") in path:
                        fault["count"] -= 1
                        if source == "control":
                            tmp = self.args.control + ".tmp"
                            with open(tmp, "w") as f:
                                json.dump(ctl, f)
                            os.replace(tmp, self.args.control)
                        return dict(fault), delay, close
            return None, delay, close


def status_object(code, message, details=None):
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": STATUS_REASON.get(code, "Unknown"), "code": code}
    if details:
        obj["details"] = details
    return obj


def event_problems(event, ns):
    """What the API server's validation (legacyValidateEvent for core/v1, plus metadata) says
    about an Event created in namespace `ns`; [] when it is accepted."""
    problems = []
    meta = event.get("metadata") or {}
    involved = event.get("involvedObject") or {}
    if not meta.get("name"):
        problems.append("metadata.name: Required value")
    elif len(meta["name"]) > 253:
        problems.append("metadata.name: Invalid value: must be no more than 253 characters")
    if meta.get("namespace", ns) != ns:
        problems.append("metadata.namespace: Invalid value: does not match the namespace")
    if event.get("eventTime"):
        if not involved.get("namespace") and ns not in ("default", "kube-system"):
            problems.append("involvedObject.namespace: Invalid value: does not match event.namespace")
        for field, limit in (("reportingComponent", 0), ("reportingInstance", 128),
                             ("action", 128), ("reason", 128)):
            value = event.get(field) or ""
            if not value:
                problems.append(field + ": Required value")
            elif limit and len(value.encode()) > limit:
                problems.append("%s: Too long: must have at most %d bytes" % (field, limit))
        if len((event.get("message") or "").encode()) > 1024:
            problems.append("message: Too long: must have at most 1024 bytes")
    elif involved.get("namespace", "") not in ("", ns):
        problems.append("involvedObject.namespace: Invalid value: does not match event.namespace")
    return problems


def make_handler(state):
    args = state.args

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # keep stderr quiet
            pass

        def send_json(self, code, obj, close=False, retry_after=None):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Length", str(len(body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def route(self):
            parts = self.path.split("?")[0].strip("/").split("/")
            if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
                return "pod", parts[3], parts[5], False
            if (len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and
                    parts[4] == "pods" and parts[6] == "status"):
                return "pod", parts[3], parts[5], True
            if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "events":
                return "events", parts[3], None, False
            if (len(parts) == 7 and parts[:4] == ["apis", "k8s.cni.cncf.io", "v1", "namespaces"]
                    and parts[5] == "network-attachment-definitions"):
                return "nad", parts[4], parts[6], False
            return None, None, None, False

        def handle_any(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            fault, delay_ms, close = state.take_fault(self.path)
            if fault and fault.get("hang_ms"):
                # An API server that accepted the request and does not answer (yet).
                threading.Event().wait(fault["hang_ms"] / 1000.0)
            code, obj = self.respond(method, body, fault["status"] if fault else None)
            state.log({"method": method, "path": self.path, "body": body, "status": code,
                       "conn": getattr(self.connection, "splitnet_conn", 0),
                       "auth": self.headers.get("Authorization", ""),
                       "accept": self.headers.get("Accept", "")})
            if delay_ms:
                threading.Event().wait(delay_ms / 1000.0)
            retry_after = state.control().get("retry_after") if fault else None
            self.send_json(code, obj, close, retry_after)

        def respond(self, method, body, fault):
            if fault:
                return fault, status_object(fault, "injected fault %d" % fault)
            if args.token and self.headers.get("Authorization") != "Bearer " + args.token:
                return 401, status_object(401, "Unauthorized")
            kind, ns, name, status_sub = self.route()
            if kind is None:
                return 404, status_object(404, "the server could not find the requested resource")
            if kind == "events":
                return self.respond_events(method, body, ns)
            sub = "pods" if kind == "pod" else "nads"
            resource = "pods" if kind == "pod" else \
                "network-attachment-definitions.k8s.cni.cncf.io"
            path = os.path.join(args.data, sub, ns, name + ".json")
            not_found = status_object(404, '%s "%s" not found' % (resource, name),
                                      {"name": name, "kind": resource.split(".")[0]})
            with state.lock:
                if not os.path.exists(path):
                    return 404, not_found
                with open(path) as f:
                    stored = json.load(f)
                if method == "GET" and not status_sub:
                    return 200, stored
                if method == "PUT" and status_sub and kind == "pod":
                    try:
                        new = json.loads(body)
                    except ValueError:
                        return 400, status_object(400, "invalid JSON body")
                    meta = stored.setdefault("metadata", {})
                    current = str(meta.get("resourceVersion", "1"))
                    sent = str(new.get("metadata", {}).get("resourceVersion", ""))
                    if sent != current:
                        return 409, status_object(
                            409, 'Operation cannot be fulfilled on pods "%s": the object has been '
                                 'modified; please apply your changes to the latest version and '
                                 'try again' % name)
                    meta["annotations"] = new.get("metadata", {}).get("annotations", {})
                    meta["resourceVersion"] = str(int(current) + 1)
                    tmp = path + ".tmp"
                    with open(tmp, "w") as f:
                        json.dump(stored, f, indent=2)
                    os.replace(tmp, path)
                    return 200, stored
            return 405, status_object(405, "method not allowed")

        def respond_events(self, method, body, ns):
            folder = os.path.join(args.data, "events", ns)
            if method == "GET":
                with state.lock:
                    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
                    items = []
                    for name in names:
                        with open(os.path.join(folder, name)) as f:
                            items.append(json.load(f))
                return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {},
                             "items": items}
            if method != "POST":
                return 405, status_object(405, "method not allowed")
            try:
                event = json.loads(body)
            except ValueError:
                return 400, status_object(400, "invalid JSON body")
            if not isinstance(event, dict):
                return 400, status_object(400, "the body is not an object")
            problems = event_problems(event, ns)
            name = (event.get("metadata") or {}).get("name", "")
            if problems:
                return 422, status_object(422, 'Event "%s" is invalid: %s' %
                                          (name, ", ".join(problems)))
            path = os.path.join(folder, name + ".json")
            with state.lock:
                if os.path.exists(path):
                    return 409, status_object(409, 'events "%s" already exists' % name)
                os.makedirs(folder, exist_ok=True)
                event.setdefault("metadata", {})["namespace"] = ns
                event["metadata"]["resourceVersion"] = "1"
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(event, f, indent=2)
                os.replace(tmp, path)
            return 201, event

        def do_GET(self):
            self.handle_any("GET")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_PATCH(self):
            self.handle_any("PATCH")

        def do_POST(self):
            self.handle_any("POST")

    return Handler


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, context, state):
        self.context, self.state = context, state
        super().__init__(addr, handler)

    def get_request(self):
        raw, addr = self.socket.accept()
        return raw, addr

    def finish_request(self, raw, addr):
        # Handshake in the per-connection thread so a slow client blocks nobody.
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self.state.lock:
            self.state.conn_counter += 1
            conn.splitnet_conn = self.state.conn_counter
        self.state.log({"event": "handshake", "conn": conn.splitnet_conn})
        try:
            self.RequestHandlerClass(conn, addr, self)
        except (ssl.SSLError, OSError, ConnectionError):
            pass

    def handle_error(self, request, client_address):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--log")
    p.add_argument("--control")
    p.add_argument("--token", default="")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--fault", action="append")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--no-listen", action="store_true")
    p.add_argument("--close-connections", action="store_true")
    p.add_argument("--certs-dir", help="reuse/keep certificates here instead of a temp dir")
    p.add_argument("--certs-cache", help="shared cache of generated certificates (created "
                                         "atomically when missing or older than a day)")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    tmp = args.certs_dir or tempfile.mkdtemp(prefix="splitnet-apiserver-")
    os.makedirs(tmp, exist_ok=True)
    try:
        if args.certs_cache:
            fill_from_cache(args.certs_cache, tmp)
        if not os.path.exists(os.path.join(tmp, "server.crt")):
            make_certs(tmp)
        ca = os.path.join(tmp, "ca.crt")
        client_crt = os.path.join(tmp, "system:serviceaccount:kube-system:multus.crt")
        client_key = os.path.join(tmp, "system:serviceaccount:kube-system:multus.key")
        if args.no_listen:
            # Bind without listen(): the port is ours, so connecting to it is refused.
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            print(json.dumps({"port": s.getsockname()[1], "ca": ca, "client_cert": client_crt,
                              "client_key": client_key, "dir": tmp}), flush=True)
            threading.Event().wait()  # until SIGTERM
            return
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tmp, "server.crt"), os.path.join(tmp, "server.key"))
        if args.require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(ca)
        state = State(args)
        server = TlsServer(("127.0.0.1", 0), make_handler(state), ctx, state)
        print(json.dumps({"port": server.server_address[1], "ca": ca, "client_cert": client_crt,
                          "client_key": client_key, "dir": tmp}), flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if not args.certs_dir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
