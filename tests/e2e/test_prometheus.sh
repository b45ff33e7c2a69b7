#!/usr/bin/env bash
# The node agent's metrics, scraped by a real Prometheus (Debian's package), and its gateway
# watch: `splitnet install` runs as the node agent inside the private node netns with
# /metrics on that netns' loopback; Prometheus (own config, storage in a temp dir, 1 s scrape
# interval) scrapes it there. An egress pod is ADDed with the real plugin; its VPN gateway is
# taken down and brought back in the gateway netns. Values are read from Prometheus' HTTP API.
# "Within two probe intervals" is asserted from the agent's own probe timestamps.
# shellcheck disable=SC2317  # functions called through wait_for / e2e_on_exit
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
source "$(dirname "$0")/apiserver_lib.sh"
e2e_init
e2e_require_plugins ptp host-local
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}
if [[ ! -x $PROMETHEUS ]]; then
    echo "missing prometheus (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
egress_topology

PROBE_INTERVAL_S=1
METRICS_ADDR=127.0.0.1:9234
PROM_ADDR=127.0.0.1:9090
AGENT_PID=
PROM_PID=
stop_processes() {
    local pid
    for pid in "$PROM_PID" "$AGENT_PID"; do
        [[ -n $pid ]] || continue
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    PROM_PID=
    AGENT_PID=
}
e2e_on_exit stop_processes
e2e_on_exit stop_fake_apiserver

# http_get PATH_OR_URL: GET inside the node netns; prints "<status> <body>".
http_get() {
    ns_exec "$NODE_NS" python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError as e:
    print(0, e)
PY
}

# prom_value EXPR: the value of the first series of an instant query, "none" when empty.
prom_value() {
    ns_exec "$NODE_NS" python3 - "$PROM_ADDR" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
addr, expr = sys.argv[1], sys.argv[2]
try:
    url = f"http://{addr}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)["data"]["result"]
except OSError:
    print("none")
    sys.exit(0)
print(data[0]["value"][1] if data else "none")
PY
}
# within_two_intervals CHANGE SEEN INTERVAL: 0 <= SEEN - CHANGE <= 2 * INTERVAL (seconds, decimal).
within_two_intervals() { awk -v c="$1" -v s="$2" -v i="$3" 'BEGIN { exit !(s - c >= 0 && s - c <= 2 * i) }'; }
prom_equals() { [[ $(prom_value "$1") == "$2" ]]; }
healthz_ok() { [[ $(http_get "http://${METRICS_ADDR}/healthz") == "200 ok" ]]; }

# --- the API stand-in (Events land in API_DATA/events/<ns>/) -----------------------------------
e2e_tmpdir API_WORK
mkdir -p "${API_WORK}/data" "${API_WORK}/sa"
API_TOKEN="e2e-agent-token-${RANDOM}"
start_fake_apiserver "$NODE_NS" "$API_WORK" "${API_WORK}/data" "$API_TOKEN" || exit 1
API_PORT=$(json_value "${API_WORK}/ready" /port)
cp "$(json_value "${API_WORK}/ready" /ca)" \
    "${API_WORK}/sa/ca.crt"
printf '%s' "$API_TOKEN" >"${API_WORK}/sa/token"

# events_with REASON [TEXT]: Events about apps/web-1 with this reason (and TEXT in the message)
# that the API server stored.
events_with() {
    python3 - "${API_WORK}/data/events/apps" "$1" "${2:-}" <<'PY'
import glob, json, os, sys
n = 0
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    e = json.load(open(f))
    if (e.get("reason") == sys.argv[2] and e["involvedObject"]["name"] == "web-1"
            and sys.argv[3] in e.get("message", "")):
        n += 1
print(n)
PY
}
has_event() { (($(events_with "$1") >= 1)); }
has_event6() { (($(events_with SplitnetGatewayRecovered 'answers NDP') >= 1)); }

# --- the node agent ---------------------------------------------------------------------------
# probeTarget: a TCP service on the "internet" side, reached only through the VPN gateway.
# Dual stack with "ipv6": "route": the IPv4 gateway is probed with ARP, the IPv6 one with NDP.
EGRESS='{"keep":["cluster"],"ipv6":"route","gateway":["192.168.99.1","2001:db8:99::1"],"probeGateway":"warn","probeTarget":"tcp://'"$INET4"':443"}'
VPN_CONF='{"cniVersion":"1.0.0","name":"vpn","type":"macvlan","master":"'"${MASTER}"'","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"192.168.99.99/24","gateway":"192.168.99.1"},
   {"address":"2001:db8:99::99/64"}]},"egress":'"$EGRESS"'}'
ns_exec "$INET_NS" python3 - "$INET4" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 443))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
PY
TARGET_PID=$!
e2e_on_exit "kill $TARGET_PID"
CONF=$(conf_egress_meta "$(conf_ptp_primary)" "$VPN_CONF")
mkdir -p "${E2E_TMP}/etc" "${E2E_TMP}/netd" "${E2E_TMP}/bin" "${E2E_TMP}/multusd"
printf '%s' "$CONF" >"${E2E_TMP}/etc/00-splitnet.conf"
ip netns exec "$NODE_NS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NODE_NAME=e2e-node \
    KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$API_PORT" \
    "$SPLITNET_BINARY" install --service-account-dir="${API_WORK}/sa" --multus-conf-file="${E2E_TMP}/etc/00-splitnet.conf" \
    --cni-conf-dir="${E2E_TMP}/netd" --cni-bin-dir="${E2E_TMP}/bin" \
    --multus-cni-conf-dir="${E2E_TMP}/multusd" --skip-multus-binary-copy \
    --metrics-bind-address="$METRICS_ADDR" --gateway-probe-interval="${PROBE_INTERVAL_S}s" \
    2>"${E2E_TMP}/agent.log" &
AGENT_PID=$!
check "the agent's /healthz answers 200 ok once the node config is written" \
    wait_for healthz 60 healthz_ok || { cat "${E2E_TMP}/agent.log" >&2; exit 1; }
assert_eq "any other path is 404" 404 "$(http_get "http://${METRICS_ADDR}/other" | cut -d' ' -f1)"
# A request head far over the bound is refused, not buffered.
big_status=$(ns_exec "$NODE_NS" python3 - "$METRICS_ADDR" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
except OSError:
    pass
try:
    print(s.recv(64).split(b" ")[1].decode())
except (OSError, IndexError):
    print("closed")
PY
)
check "an oversized request head is refused (400, or the connection closed): got '$big_status'" \
    test "$big_status" = 400 -o "$big_status" = closed

# --- an egress pod, and Prometheus --------------------------------------------------------------
SN_CNI_ARGS="IgnoreUnknown=true;K8S_POD_NAMESPACE=apps;K8S_POD_NAME=web-1;K8S_POD_UID=u-1"
run_splitnet ADD "$CONF"
assert_rc "ADD of an egress pod" 0 || exit 1
# The kernel's own local table is left out: net1's IPv6 link-local address (and its local route)
# comes and goes with the carrier.
pod_routes() { ip -n "$POD_NS" route show table all | grep -v ' table local '; }
ROUTES_AFTER_ADD=$(pod_routes)

e2e_tmpdir PROM_DIR
# The chart's alerts (charts/splitnet/templates/prometheusrule.yaml), as Helm renders them.
python3 - "${E2E_SOURCE_DIR}/charts/splitnet/templates/prometheusrule.yaml" >"${PROM_DIR}/rules.yml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
body = text.split("\nspec:\n", 1)[1].rsplit("{{- end }}", 1)[0]
body = re.sub(r"\{\{`(.*?)`\}\}", lambda m: m.group(1), body)
print("\n".join(line[2:] for line in body.splitlines() if not line.lstrip().startswith("#")))
PY
PROMTOOL=$(dirname "$PROMETHEUS")/promtool
if [[ -x $PROMTOOL ]]; then
    check "promtool accepts the chart's alert rules" "$PROMTOOL" check rules "${PROM_DIR}/rules.yml"
fi
cat >"${PROM_DIR}/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["${PROM_DIR}/rules.yml"]
scrape_configs:
  - job_name: splitnet
    static_configs:
      - targets: ["${METRICS_ADDR}"]
YAML
ip netns exec "$NODE_NS" "$PROMETHEUS" --config.file="${PROM_DIR}/prometheus.yml" \
    --storage.tsdb.path="${PROM_DIR}/data" --web.listen-address="$PROM_ADDR" \
    2>"${PROM_DIR}/prometheus.log" &
PROM_PID=$!

POD_SEL='{namespace="apps",pod="web-1",network="vpn",interface="net1",gateway="192.168.99.1"}'
POD_SEL6='{namespace="apps",pod="web-1",network="vpn",interface="net1",gateway="2001:db8:99::1"}'
check "Prometheus scrapes the agent (up == 1)" wait_for up 120 prom_equals 'up{job="splitnet"}' 1 ||
    { tail -n 20 "${PROM_DIR}/prometheus.log" >&2; exit 1; }
check "gateway reachable reads 1 for the egress pod" \
    wait_for reachable 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL}" 1
check "the IPv6 gateway reads 1 too (NDP, once net1's address is past DAD)" \
    wait_for reachable6 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL6}" 1
check "the probe target answers through the tunnel" \
    wait_for target 60 prom_equals "splitnet_egress_probe_target_reachable{pod=\"web-1\",target=\"tcp://${INET4}:443\"}" 1
check "... its SYNs went through the gateway (gateway-side counter)" \
    test "$(counter "$GW_NS" "gw_${INET4//./_}")" -ge 1
assert_eq "kill switch not engaged" 0 "$(prom_value "splitnet_egress_kill_switch_engaged${POD_SEL}")"
assert_eq "the ADD is counted" 1 \
    "$(prom_value 'splitnet_cni_operations_total{verb="ADD",result="success"}')"
assert_eq "... with its duration in the histogram" 1 \
    "$(prom_value 'splitnet_cni_operation_duration_seconds_count{verb="ADD",result="success"}')"
assert_eq "attachments by network and kind: the VPN one is native" 1 \
    "$(prom_value 'splitnet_attachments{network="vpn",kind="native"}')"
assert_eq "... eth0 is delegated" 1 "$(prom_value 'splitnet_attachments{network="cluster",kind="delegated"}')"
assert_eq "build info names the node" 1 "$(prom_value 'splitnet_build_info{node="e2e-node"}')"

# --- the gateway goes down ----------------------------------------------------------------------
# A link set down loses its IPv6 addresses unless told to keep them: the gateway keeps its own.
ns_exec "$GW_NS" sysctl -qw net.ipv6.conf.gw0.keep_addr_on_down=1
down_at=$(date +%s.%N)
ip -n "$GW_NS" link set gw0 down
check "gateway reachable reads 0 after the gateway went down" \
    wait_for unreachable 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL}" 0
since=$(prom_value "splitnet_egress_gateway_status_since_timestamp_seconds${POD_SEL}")
check "the first probe that saw it down started within two probe intervals of the change" \
    within_two_intervals "$down_at" "$since" "$PROBE_INTERVAL_S"
assert_eq "kill switch engaged (net1 lost its carrier)" 1 \
    "$(prom_value "splitnet_egress_kill_switch_engaged${POD_SEL}")"
check "the IPv6 gateway reads 0 too" \
    wait_for unreachable6 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL6}" 0
check "the probe target reads 0 with the tunnel down" \
    wait_for target 60 prom_equals "splitnet_egress_probe_target_reachable{pod=\"web-1\"}" 0
check "the chart's SplitnetVPNGatewayDown alert is pending for the pod" \
    wait_for alert 60 prom_equals 'ALERTS{alertname="SplitnetVPNGatewayDown",alertstate="pending",pod="web-1"}' 1
agent_said() { grep -q "$1" "${E2E_TMP}/agent.log"; }
check "the agent logs the transition for pod apps/web-1" \
    wait_for log 30 agent_said 'pod apps/web-1: VPN gateway 192.168.99.1 of network vpn does not answer'
check "the API server recorded a SplitnetGatewayUnreachable Event on apps/web-1" \
    wait_for event 60 has_event SplitnetGatewayUnreachable

# --- and comes back -------------------------------------------------------------------------------
ip -n "$GW_NS" link set gw0 up
check "gateway reachable reads 1 again" \
    wait_for recovered 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL}" 1
check "the IPv6 gateway reads 1 again" \
    wait_for recovered6 60 prom_equals "splitnet_egress_gateway_reachable${POD_SEL6}" 1
check "the agent logs the recovery" \
    wait_for log 30 agent_said 'pod apps/web-1: VPN gateway 192.168.99.1 of network vpn answers ARP on net1 again'
check "the API server recorded a SplitnetGatewayRecovered Event on apps/web-1" \
    wait_for event 60 has_event SplitnetGatewayRecovered
check "the API server recorded the IPv6 gateway's Events (NDP)" \
    wait_for event6 60 has_event6
assert_eq "one Event per gateway and transition" "1 1 1 1" \
    "$(events_with SplitnetGatewayUnreachable '192.168.99.1 ') $(events_with SplitnetGatewayRecovered '192.168.99.1 ') $(events_with SplitnetGatewayUnreachable '2001:db8:99::1 ') $(events_with SplitnetGatewayRecovered '2001:db8:99::1 ')"
check "kill switch released" \
    wait_for released 60 prom_equals "splitnet_egress_kill_switch_engaged${POD_SEL}" 0
assert_eq "the watch changed none of the pod's routes" "$ROUTES_AFTER_ADD" "$(pod_routes)"
assert_eq "no probe to the internet ever left via eth0 (node-side counter)" 0 "$(counter "$NODE_NS" leak4)"

# --- DEL: the pod's series go, the DEL is counted -------------------------------------------------
run_splitnet DEL "$CONF"
assert_rc "DEL of the egress pod" 0
check "the pod's gateway series are gone after DEL" \
    wait_for gone 60 prom_equals "splitnet_egress_gateway_reachable{pod=\"web-1\"}" none
check "the DEL is counted" \
    wait_for del 60 prom_equals 'splitnet_cni_operations_total{verb="DEL",result="success"}' 1
check "the agent stayed healthy" healthz_ok

stop_processes
stop_fake_apiserver
assert_eq "no agent, Prometheus or API server left in the node netns" "" "$(ip netns pids "$NODE_NS")"
e2e_summary
