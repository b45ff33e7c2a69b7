#!/usr/bin/env python3
"""Named checks over JSON documents for the e2e scripts (tests/e2e/test_*.sh).

    predicates.py NAME FILE ARG...

A predicate exits 0 when it holds and 1 when it does not, saying on stderr what it expected
and what it found; 2 when FILE is not one JSON document or the arguments do not fit NAME.
An extractor (value, error-text, length, count-where, posts-to) prints what it extracts.
lib.sh runs them through `assert_pred DESC NAME FILE ARG...` and `json_value FILE POINTER`.

POINTER is a JSON Pointer (RFC 6901): "" is the whole document, "/plugins/0/type" a member.
An expected value written as JSON (value-is, all-have) is compared after parsing, so
'{"a":1}' and '{ "a": 1 }' are the same. Text arguments are taken as UTF-8 bytes whatever the
locale, so $'\\xef\\xbf\\xbd' (U+FFFD) can be passed from bash.
"""

import fnmatch
import json
import os
import sys

PREDICATES = {}
EXTRACTORS = {}
# The predicates whose FILE is the fake API server's request log: one JSON object a line.
OVER_JSON_LINES = set()

NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"


class Usage(Exception):
    """The arguments do not fit the predicate."""


def registrar(table):
    """A decorator factory that files a function in TABLE under a name (and, with json_lines,
    has its FILE read as JSON lines)."""
    def named(name, json_lines=False):
        def register(function):
            table[name] = function
            if json_lines:
                OVER_JSON_LINES.add(name)
            return function
        return register
    return named


predicate = registrar(PREDICATES)
extractor = registrar(EXTRACTORS)


def show(value):
    return json.dumps(value, ensure_ascii=False)


def expect(expected, found):
    """None when they are equal, else the failure message."""
    return None if expected == found else f"expected {show(expected)}, found {show(found)}"


def pointer(doc, path):
    """The value at JSON Pointer PATH; a missing member or index is a failed check, not a crash."""
    if path in ("", "/"):
        return doc
    if not path.startswith("/"):
        raise Usage(f"a JSON Pointer starts with '/': {path!r}")
    value = doc
    for token in path[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            raise LookupError(f"{path} is not in the document")
    return value


def parse_json_arg(text):
    try:
        return json.loads(text)
    except ValueError as e:
        raise Usage(f"not JSON: {text!r} ({e})") from None


def sandbox_interfaces(r):
    return [i["name"] for i in r["interfaces"] if i.get("sandbox")]


def ip_owner(r, ip):
    return r["interfaces"][ip["interface"]]["name"]


def default_routes(routes):
    return [x for x in routes or [] if x["dst"].endswith("/0")]


def posts(log):
    return [e for e in log if e.get("method") == "POST"]


# --- generic --------------------------------------------------------------------------------

@predicate("one-json")
def one_json(r):
    """FILE is exactly one JSON document (checked by loading it)."""
    return None


@predicate("value-is")
def value_is(r, path, value):
    """The value at POINTER equals JSON value."""
    return expect(parse_json_arg(value), pointer(r, path))


@predicate("length-is")
def length_is(r, path, n):
    """The list (or object, or string) at POINTER has N entries."""
    return expect(int(n), len(pointer(r, path)))


@predicate("nonempty-string")
def nonempty_string(r, path):
    """The value at POINTER is a non-empty string."""
    value = pointer(r, path)
    if isinstance(value, str) and value:
        return None
    return f"expected a non-empty string, found {show(value)}"


@predicate("text-contains")
def text_contains(r, path, text):
    """The string at POINTER contains TEXT."""
    value = pointer(r, path)
    return None if text in value else f"expected {show(text)} in {show(value)}"


@predicate("text-lacks")
def text_lacks(r, path, text):
    """The string at POINTER does not contain TEXT."""
    value = pointer(r, path)
    return None if text not in value else f"expected no {show(text)} in {show(value)}"


@predicate("text-starts-with")
def text_starts_with(r, path, text):
    """The string at POINTER starts with TEXT."""
    value = pointer(r, path)
    return None if value.startswith(text) else f"expected {show(value)} to start with {show(text)}"


@predicate("text-ends-with")
def text_ends_with(r, path, text):
    """The string at POINTER ends with TEXT."""
    value = pointer(r, path)
    return None if value.endswith(text) else f"expected {show(value)} to end with {show(text)}"


@predicate("text-bytes-at-most")
def text_bytes_at_most(r, path, n):
    """The string at POINTER is at most N bytes of UTF-8."""
    size = len(pointer(r, path).encode())
    return None if size <= int(n) else f"expected at most {n} bytes of UTF-8, found {size}"


@predicate("all-have")
def all_have(r, path, value):
    """Every entry of the list at the top has VALUE at POINTER (and the list is not empty)."""
    wanted = parse_json_arg(value)
    if not r:
        return f"expected entries with {path} = {show(wanted)}, found an empty list"
    for i, entry in enumerate(r):
        found = pointer(entry, path)
        if found != wanted:
            return f"entry {i}: expected {path} = {show(wanted)}, found {show(found)}"
    return None


@predicate("each-value")
def each_value(r, path, *values):
    """The entries of the list at the top have, at POINTER and in order, exactly VALUES."""
    return expect(list(values), [pointer(e, path) for e in r])


@predicate("none-have")
def none_have(r, path, value):
    """No entry of the list at the top has VALUE at POINTER."""
    unwanted = parse_json_arg(value)
    hits = [i for i, e in enumerate(r) if pointer(e, path) == unwanted]
    return None if not hits else f"expected no entry with {path} = {show(unwanted)}, found entries {hits}"


@predicate("supports-versions")
def supports_versions(r, *versions):
    """A VERSION reply lists at least these CNI versions."""
    missing = sorted(set(versions) - set(r["supportedVersions"]))
    return None if not missing else f"expected {show(list(versions))} supported, missing {show(missing)}"


# --- CNI results and errors ---------------------------------------------------------------------

@predicate("cni-error")
def cni_error(r):
    """One CNI error object: an integer code > 0 and a non-empty msg."""
    ok = isinstance(r, dict) and isinstance(r.get("code"), int) and r["code"] > 0 \
        and isinstance(r.get("msg"), str) and r["msg"] != ""
    return None if ok else f"expected a CNI error (code > 0, non-empty msg), found {show(r)}"


@predicate("error-code")
def error_code(r, code):
    """The CNI error object has code CODE."""
    return expect(int(code), r.get("code") if isinstance(r, dict) else None)


@predicate("sandbox-interfaces")
def sandbox_interfaces_are(r, *names):
    """The result's sandbox interfaces, in result order, are exactly NAMES."""
    return expect(list(names), sandbox_interfaces(r))


@predicate("sandbox-interfaces-sorted")
def sandbox_interfaces_sorted(r, *names):
    """The result's sandbox interfaces, sorted, are exactly NAMES (sorted)."""
    return expect(sorted(names), sorted(sandbox_interfaces(r)))


@predicate("has-interface")
def has_interface(r, name):
    """Some interface of the result (sandbox or not) is named NAME."""
    names = [i["name"] for i in r["interfaces"]]
    return None if name in names else f"expected an interface {name}, found {show(names)}"


@predicate("sandboxes-are")
def sandboxes_are(r, netns):
    """Every interface with a sandbox names NETNS."""
    found = sorted({i["sandbox"] for i in r["interfaces"] if i.get("sandbox")})
    return expect([netns], found)


@predicate("ips-point-into")
def ips_point_into(r, netns):
    """Every ips[].interface is an index into interfaces, to an interface in NETNS."""
    for ip in r["ips"]:
        index = ip.get("interface")
        if not (isinstance(index, int) and 0 <= index < len(r["interfaces"])):
            return f"expected ips[].interface in range 0..{len(r['interfaces']) - 1}, found {show(ip)}"
        sandbox = r["interfaces"][index].get("sandbox")
        if sandbox != netns:
            return f"expected {ip['address']} on an interface in {netns}, found sandbox {show(sandbox)}"
    return None


@predicate("ip-count")
def ip_count(r, n):
    """The result has exactly N IPs."""
    return expect(int(n), len(r["ips"]))


@predicate("ip-owners")
def ip_owners(r, address_prefix, *names):
    """The IPs whose address starts with ADDRESS_PREFIX point at exactly NAMES, in order."""
    owners = [ip_owner(r, ip) for ip in r["ips"] if ip["address"].startswith(address_prefix)]
    return expect(list(names), owners)


@predicate("ip-networks")
def ip_networks(r, *owner_octets):
    """Sorted (interface, second IPv4 octet) pairs of every IP, as NAME:OCTET."""
    found = sorted(f"{ip_owner(r, ip)}:{ip['address'].split('.')[1]}" for ip in r["ips"])
    return expect(sorted(owner_octets), found)


@predicate("has-ips")
def has_ips(r, *addresses):
    """ADDRESSES are among the result's IPs."""
    found = {ip["address"] for ip in r["ips"]}
    missing = sorted(set(addresses) - found)
    return None if not missing else f"expected {show(sorted(addresses))} among the IPs, missing {show(missing)}"


@predicate("first-ip-on")
def first_ip_on(r, name):
    """ips[0] is on interface NAME (containerd takes the pod IP from it)."""
    return expect(name, ip_owner(r, r["ips"][0]))


@predicate("ip-gateways")
def ip_gateways(r, address, *gateways):
    """The IPs equal to ADDRESS carry exactly GATEWAYS."""
    return expect(list(gateways), [ip.get("gateway") for ip in r["ips"] if ip["address"] == address])


@predicate("ip-versions")
def ip_versions(r, version):
    """Every ips[].version is VERSION ("4", "6"), or absent everywhere ("absent")."""
    found = [ip.get("version", "absent") for ip in r["ips"]]
    return expect([version] * len(found), found)


@predicate("has-route")
def has_route(r, dst):
    """The result has a route to DST."""
    dsts = [rt["dst"] for rt in r.get("routes", [])]
    return None if dst in dsts else f"expected a route to {dst}, found {show(dsts)}"


@predicate("default-routes")
def default_routes_are(r, routes):
    """The result's default routes (dst */0) are exactly ROUTES (a JSON list)."""
    return expect(parse_json_arg(routes), default_routes(r.get("routes")))


@predicate("interface-macs")
def interface_macs(r, name, *macs):
    """The sandbox interfaces named NAME carry exactly MACS."""
    found = [i.get("mac") for i in r["interfaces"] if i["name"] == name and i.get("sandbox")]
    return expect(list(macs), found)


@predicate("stored-default-routes")
def stored_default_routes(r, routes_by_ifname):
    """splitnet's state file: the default routes of each attachment's stored result."""
    found = {a["ifname"]: default_routes(a["result"].get("routes")) for a in r["attachments"]}
    return expect(parse_json_arg(routes_by_ifname), found)


@predicate("same-result-shape")
def same_result_shape(r, other_path, lease_prefix):
    """FILE and OTHER agree on everything but the lease (IPs starting with LEASE_PREFIX).

    Compared: sandbox interfaces, cniVersion, routes and the other IPs."""
    with open(other_path, encoding="utf-8") as f:
        other = json.load(f)

    def shape(x):
        others = [ip["address"] for ip in x["ips"] if not ip["address"].startswith(lease_prefix)]
        return {"interfaces": sandbox_interfaces(x), "cniVersion": x["cniVersion"],
                "routes": x.get("routes"), "ips": others}
    return expect(shape(other), shape(r))


# --- `ip -j addr show` --------------------------------------------------------------------------

@predicate("link-inet")
def link_inet(r, ifname, *patterns):
    """IFNAME's IPv4 addresses (ADDRESS/PREFIXLEN, sorted) match PATTERNS (fnmatch), one each."""
    found = sorted(f"{x['local']}/{x['prefixlen']}" for a in r if a["ifname"] == ifname
                   for x in a.get("addr_info", []) if x["family"] == "inet")
    ok = len(found) == len(patterns) and all(fnmatch.fnmatchcase(f, p) for f, p in zip(found, patterns))
    return None if ok else f"expected {ifname} addresses matching {show(list(patterns))}, found {show(found)}"


@predicate("link-mac")
def link_mac(r, ifname, mac):
    """`ip -j addr`: the one link named IFNAME has MAC."""
    return expect([mac], [a.get("address") for a in r if a["ifname"] == ifname])


# --- Kubernetes objects, Events and the fake API server's request log --------------------------

def network_status(pod):
    return json.loads(pod["metadata"]["annotations"][NETWORK_STATUS])


@predicate("status-networks")
def status_networks(r, *name_ifnames):
    """A pod's network-status names NAME@IFNAME, in order (a leading '...' skips the first)."""
    entries = network_status(r)
    wanted = list(name_ifnames)
    if wanted and wanted[0] == "...":
        entries, wanted = entries[1:], wanted[1:]
    return expect(wanted, [f"{s['name']}@{s['interface']}" for s in entries])


@predicate("status-default")
def status_default(r, name_ifname):
    """The first network-status entry is NAME@IFNAME and marked default."""
    s = network_status(r)[0]
    found = f"{s['name']}@{s['interface']}" + (" default" if s.get("default") is True else "")
    return expect(f"{name_ifname} default", found)


@predicate("status-name")
def status_name(r, index, name):
    """network-status entry INDEX (0 = the default network) is network NAME."""
    return expect(name, network_status(r)[int(index)]["name"])


@predicate("status-entry")
def status_entry(r, index, entry):
    """network-status entry INDEX is exactly ENTRY (JSON)."""
    return expect(parse_json_arg(entry), network_status(r)[int(index)])


@predicate("status-gateways")
def status_gateways(r, ifname, *gateways):
    """The network-status entry of IFNAME lists GATEWAYS; with none, it has no gateway member."""
    entry = {e["interface"]: e for e in network_status(r)}[ifname]
    return expect(list(gateways) if gateways else None, entry.get("gateway"))


@predicate("request-sequence")
def request_sequence(r, *method_names):
    """The API requests, as METHOD:LAST_PATH_SEGMENT, are exactly these, in order."""
    found = [f"{e['method']}:{e['path'].split('/')[-1]}" for e in r if "method" in e]
    return expect(list(method_names), found)


@predicate("requests-are")
def requests_are(r, *method_paths):
    """The API requests, as METHOD:PATH, are exactly these, in order."""
    return expect(list(method_paths), [f"{e['method']}:{e['path']}" for e in r if "method" in e])


@predicate("event-posts")
def event_posts(r, *messages):
    """The POSTed bodies' messages are MESSAGES, in order; one ending in '*' matches a prefix."""
    found = [json.loads(e["body"])["message"] for e in posts(r)]
    ok = len(found) == len(messages) and all(
        f.startswith(m[:-1]) if m.endswith("*") else f == m for f, m in zip(found, messages))
    return None if ok else f"expected messages {show(list(messages))}, found {show(found)}"


@predicate("post-statuses")
def post_statuses(r, *statuses):
    """The API answered the POSTs with exactly these statuses, in order."""
    return expect([int(s) for s in statuses], [e["status"] for e in posts(r)])


@predicate("posts-retried")
def posts_retried(r, status, path, at_least):
    """At least AT_LEAST POSTs, every one to PATH and answered STATUS."""
    found = [(e["status"], e["path"]) for e in posts(r)]
    ok = len(found) >= int(at_least) and all(f == (int(status), path) for f in found)
    return None if ok else f"expected >= {at_least} POSTs to {path} answered {status}, found {show(found)}"


@predicate("only-event")
def only_event(r, event_type, reason=None):
    """Exactly one Event, of TYPE (and REASON when given)."""
    found = [[e.get("type"), e.get("reason")] if reason else [e.get("type")] for e in r]
    return expect([[event_type, reason] if reason else [event_type]], found)


@predicate("event-names")
def event_names(r, pod, n):
    """N Events, all named POD.<hex nanoseconds > 0>, all different."""
    names = [e["metadata"]["name"] for e in r]

    def well_formed(name):
        hex_part = name[len(pod) + 1:]
        return name.startswith(pod + ".") and all(c in "0123456789abcdefABCDEF" for c in hex_part) \
            and hex_part != "" and int(hex_part, 16) > 0
    ok = len(set(names)) == int(n) and all(well_formed(x) for x in names)
    return None if ok else f"expected {n} different names {pod}.<hex>, found {show(names)}"


@predicate("event-times-once")
def event_times_once(r):
    """Every Event: count 1, firstTimestamp == lastTimestamp, eventTime in the same second."""
    for e in r:
        if not (e["count"] == 1 and e["firstTimestamp"] == e["lastTimestamp"]
                and e["eventTime"].startswith(e["firstTimestamp"][:19])):
            times = {k: e.get(k) for k in ("count", "firstTimestamp", "lastTimestamp", "eventTime")}
            return f"expected count 1 and agreeing timestamps, found {show(times)}"
    return None if r else "expected Events, found none"


@predicate("event-interfaces")
def event_interfaces(r, *ifnames):
    """The Events' messages ("Add IFNAME [...] from ...") announce exactly IFNAMES, in order."""
    return expect(list(ifnames), [e["message"].split(" ")[1] for e in r])


def requests_to(log, method, path_prefix):
    """The logged requests of METHOD to a path starting with PATH_PREFIX, bodies parsed."""
    found = []
    for e in log:
        if e.get("method") == method and e.get("path", "").startswith(path_prefix):
            e = dict(e)
            if e.get("body"):
                e["body"] = json.loads(e["body"])
            found.append(e)
    return found


@predicate("request-value", json_lines=True)
def request_value(log, method, path_prefix, path, value):
    """One METHOD request to PATH_PREFIX..., with VALUE (JSON) at POINTER (/path, /status,
    /body/...: the body parsed)."""
    found = requests_to(log, method, path_prefix)
    if len(found) != 1:
        paths = [e["path"] for e in found]
        return f"expected one {method} {path_prefix}..., found {len(found)}: {show(paths)}"
    return expect(parse_json_arg(value), pointer(found[0], path))


@predicate("request-text-contains", json_lines=True)
def request_text_contains(log, method, path_prefix, path, text):
    """Exactly one METHOD request to PATH_PREFIX..., with TEXT in the string at POINTER."""
    found = requests_to(log, method, path_prefix)
    if len(found) != 1:
        return f"expected one {method} {path_prefix}..., found {len(found)}"
    value = pointer(found[0], path)
    return None if text in value else f"expected {show(text)} in {show(value)}"


@predicate("request-paths-start", json_lines=True)
def request_paths_start(log, method, path_prefix, *paths):
    """The first METHOD requests to PATH_PREFIX... went to PATHS, in this order."""
    found = [e["path"] for e in requests_to(log, method, path_prefix)]
    return expect(list(paths), found[:len(paths)])


@predicate("request-before", json_lines=True)
def request_before(log, method, path_suffix, later_method):
    """One METHOD request to ...PATH_SUFFIX, before the first LATER_METHOD request."""
    first = [i for i, e in enumerate(log) if e.get("method") == method and e["path"].endswith(path_suffix)]
    later = [i for i, e in enumerate(log) if e.get("method") == later_method]
    ok = len(first) == 1 and later and first[0] < later[0]
    return None if ok else f"expected one {method} ...{path_suffix} before the first {later_method}, " \
        f"found it at {first} and {later_method} at {later}"


# --- extractors ----------------------------------------------------------------------------------

@extractor("value")
def value(r, path):
    """The value at POINTER: a string raw, anything else as compact JSON."""
    v = pointer(r, path)
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


@extractor("error-text")
def error_text(r):
    """A CNI error's msg and details, joined by a space."""
    return r["msg"] + " " + r.get("details", "")


@extractor("length")
def length(r, path=""):
    """How many entries the value at POINTER (default: the document) has."""
    return str(len(pointer(r, path)))


@extractor("count-where")
def count_where(r, key, value):
    """How many entries of the list have KEY equal to the string VALUE."""
    return str(sum(1 for e in r if e.get(key) == value))


@extractor("posts-to")
def posts_to(r, suffix):
    """How many logged POSTs went to a path ending in SUFFIX."""
    return str(sum(1 for e in posts(r) if e["path"].endswith(suffix)))


@extractor("request-count", json_lines=True)
def request_count(log, method, path_prefix):
    """How many logged requests of METHOD went to a path starting with PATH_PREFIX."""
    return str(len(requests_to(log, method, path_prefix)))


@extractor("json-lines", json_lines=True)
def json_lines(log):
    """A file of JSON lines (the API server's request log) as one JSON list."""
    return json.dumps(log)


@extractor("taint-keys")
def taint_keys(r):
    """A node's taint keys, space-separated."""
    return " ".join(t["key"] for t in r["spec"].get("taints", []))


@extractor("first-ip-starting")
def first_ip_starting(r, prefix):
    """The first IP of the result whose address starts with PREFIX."""
    return [ip["address"] for ip in r["ips"] if ip["address"].startswith(prefix)][0]


def main(argv):
    # Arguments as the bytes bash passed, decoded as UTF-8 whatever the locale.
    argv = [os.fsencode(a).decode("utf-8", "surrogateescape") for a in argv]
    if len(argv) < 3 or (argv[1] not in PREDICATES and argv[1] not in EXTRACTORS):
        print("usage: predicates.py NAME FILE ARG...", file=sys.stderr)
        for title, table in (("predicates", PREDICATES), ("extractors", EXTRACTORS)):
            print(f"{title}:", file=sys.stderr)
            for name in sorted(table):
                summary = (table[name].__doc__ or "").strip().split("\n")[0]
                print(f"  {name:26} {summary}", file=sys.stderr)
        return 2
    name, path, args = argv[1], argv[2], argv[3:]
    try:
        with open(path, encoding="utf-8") as f:
            if name in OVER_JSON_LINES:
                doc = [json.loads(line) for line in f if line.strip()]
            else:
                doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{name}: {path} is not one JSON document: {e}", file=sys.stderr)
        return 2
    function = PREDICATES.get(name) or EXTRACTORS[name]
    try:
        outcome = function(doc, *args)
    except Usage as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    except TypeError as e:
        if "positional argument" in str(e):
            print(f"{name}: wrong arguments: {e}", file=sys.stderr)
            return 2
        print(f"{name}: expected another shape of document: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except (LookupError, AttributeError, ValueError) as e:
        print(f"{name}: expected another shape of document: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if name in EXTRACTORS:
        print(outcome)
        return 0
    if outcome is not None:
        print(f"{name}: {outcome}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
