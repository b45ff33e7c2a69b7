#!/usr/bin/env bash
# The shipped manifests: the Helm chart (charts/splitnet), rendered by tools/helm-render (Go
# text/template + Debian's sprig: Helm is not in Debian), and the kustomize base
# (deploy/kustomize), rendered by `kubectl kustomize`. For default values both hold the same
# objects, equal up to the labels Helm adds; the ClusterRole is exactly the RBAC table of
# docs/security.md; the DaemonSet passes the checks an API server would make (no server here:
# `kubectl apply --dry-run=client` needs one for discovery); every install/uninstall argument
# is accepted by the built binary; and the chart's values do what values.yaml says.
# Needs no root and no network namespace; nothing leaves the temp dir.
source "$(dirname "$0")/lib.sh"

E2E_SOURCE_DIR=${SPLITNET_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SPLITNET_BINARY=${SPLITNET_BINARY:-${E2E_SOURCE_DIR}/build/splitnet}
for tool in kubectl go; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIPPED: $tool is missing (scripts/install-deps.sh installs it)"
        exit "$E2E_SKIP_CODE"
    fi
done
if [[ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ]] ||
    ! python3 -c 'import yaml' 2>/dev/null; then
    echo "SKIPPED: golang-github-masterminds-sprig-dev or python3-yaml is missing (scripts/install-deps.sh)"
    exit "$E2E_SKIP_CODE"
fi
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
e2e_tmpdir E2E_TMP
CHART=${E2E_SOURCE_DIR}/charts/splitnet
CHECK=${E2E_SOURCE_DIR}/tests/e2e/manifests_check.py

# counted CMD...: runs a check that prints "ok - "/"FAIL - " lines and counts them; a check that
# crashes or prints none is a failure too.
counted() {
    local line seen=0
    while IFS= read -r line; do
        case $line in
            "ok - "*) pass "${line#ok - }"; seen=1 ;;
            "FAIL - "*) fail "${line#FAIL - }"; seen=1 ;;
            *) echo "$line" ;;
        esac
    done < <("$@" 2>&1 || echo "FAIL - $* exited non-zero")
    ((seen)) || fail "$* printed no result"
}

# shellcheck disable=SC2317  # called through check/check_not
quietly() { "$@" >/dev/null 2>&1; }

# q FILE EXPR: a Python expression over the rendered documents (`docs`, `kind("DaemonSet")`).
q() { python3 "$CHECK" query "$1" "$2"; }

# The renderer, built offline in GOPATH mode from Debian's Go sources. Debian installs sprig v3
# and semver v3 without the /v3 directory their import paths name; a private GOPATH entry
# links those two paths to them.
overlay=${E2E_TMP}/gopath
mkdir -p "${overlay}/src/github.com/Masterminds/sprig" "${overlay}/src/github.com/Masterminds/semver"
ln -s /usr/share/gocode/src/github.com/Masterminds/sprig "${overlay}/src/github.com/Masterminds/sprig/v3"
ln -s /usr/share/gocode/src/github.com/Masterminds/semver "${overlay}/src/github.com/Masterminds/semver/v3"
RENDER=${E2E_TMP}/helm-render
if ! (cd "${E2E_SOURCE_DIR}/tools/helm-render" &&
    GOPATH="${overlay}:/usr/share/gocode" GO111MODULE=off GOFLAGS='' GOPROXY=off \
        GOCACHE="${E2E_TMP}/gocache" go build -o "$RENDER" .); then
    fail "tools/helm-render builds offline"
    e2e_summary
fi
pass "tools/helm-render builds offline against Debian's sprig and yaml.v2"

render() { "$RENDER" --release splitnet --namespace kube-system "$@" "$CHART"; }

# §1 Default values: the chart and the base agree.
render >"${E2E_TMP}/chart.yaml"
assert_eq "the chart renders with default values" 0 $?
# (No -o: kubectl 1.20's kustomize has none.)
kubectl kustomize "${E2E_SOURCE_DIR}/deploy/kustomize" >"${E2E_TMP}/base.yaml"
assert_eq "kubectl kustomize renders deploy/kustomize" 0 $?
counted python3 "$CHECK" agree "${E2E_TMP}/chart.yaml" "${E2E_TMP}/base.yaml"
for f in chart base; do
    counted python3 "$CHECK" rbac "${E2E_TMP}/${f}.yaml"
    counted python3 "$CHECK" sane "${E2E_TMP}/${f}.yaml"
done
assert_eq "by default neither ServiceMonitor nor PrometheusRule is rendered" '[]' \
    "$(q "${E2E_TMP}/chart.yaml" '[d["kind"] for d in docs if d["kind"] in ("ServiceMonitor", "PrometheusRule")]')"
assert_eq "the CRD is kept by helm uninstall" '"keep"' \
    "$(q "${E2E_TMP}/chart.yaml" 'kind("CustomResourceDefinition")[0]["metadata"]["annotations"]["helm.sh/resource-policy"]')"

# §2 The binary accepts every argument the DaemonSet passes.
DS='kind("DaemonSet")[0]["spec"]["template"]["spec"]'
mapfile -t ARGS < <(q "${E2E_TMP}/chart.yaml" "${DS}[\"containers\"][0][\"args\"]" |
    python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
accepted=()
for arg in "${ARGS[@]}"; do
    accepted+=("${arg//\$(NODE_IP)/192.0.2.10}")
done
check "splitnet install accepts the DaemonSet's arguments (${#accepted[@]} of ${#ARGS[@]})" \
    quietly "$SPLITNET_BINARY" install "${accepted[@]}" --help
check_not "... and would refuse a misspelt one (the check can fail)" \
    quietly "$SPLITNET_BINARY" install "${accepted[@]}" --cni-bin-dirr=/x --help

# Every directory install writes is a host mount.
mounts=$(q "${E2E_TMP}/chart.yaml" "[m[\"mountPath\"] for m in ${DS}[\"containers\"][0][\"volumeMounts\"]]")
for flag in --cni-bin-dir --cni-conf-dir --multus-autoconfig-dir --multus-cni-conf-dir; do
    for arg in "${ARGS[@]}"; do
        [[ $arg == "$flag="* ]] || continue
        dir=${arg#*=}
        if python3 - "$mounts" "$dir" <<'PY'; then
import json, sys
mounts, d = json.loads(sys.argv[1]), sys.argv[2]
sys.exit(0 if any(d == m or d.startswith(m + "/") for m in mounts) else 1)
PY
            pass "$flag=$dir is on a host mount"
        else
            fail "$flag=$dir is not on a host mount"
        fi
    done
done

# §3 Values do what values.yaml says.
render --set metrics.enabled=false --set guard.enabled=false --set taint.key= \
    --set gatewayProbeInterval=30s --set logLevel=debug --set 'clusterCIDRs=null' \
    >"${E2E_TMP}/off.yaml"
assert_eq "metrics off, guard off, taint off (no flag), probe 30s, log debug, no CIDRs" \
    '["--multus-log-level=debug", "--metrics-bind-address=0", "--gateway-probe-interval=30s", "--guard-bypassed-pods=false"]' \
    "$(q "${E2E_TMP}/off.yaml" "[a for a in ${DS}[\"containers\"][0][\"args\"] if a.split(\"=\")[0] in (\"--metrics-bind-address\", \"--gateway-probe-interval\", \"--guard-bypassed-pods\", \"--remove-taint\", \"--multus-log-level\", \"--cluster-cidrs\")]")"
assert_eq "metrics off: no container port" 'false' \
    "$(q "${E2E_TMP}/off.yaml" "\"ports\" in ${DS}[\"containers\"][0]")"
render --set metrics.port=9999 --set cni.binDir=/var/opt/cni/bin --set cni.netDir=/etc/cni/other \
    --set image.tag=9.9.9 >"${E2E_TMP}/moved.yaml"
# shellcheck disable=SC2016  # $(NODE_IP) is for the kubelet to expand, not the shell
assert_eq "metrics.port, cni.binDir, cni.netDir and image.tag reach the DaemonSet" \
    '["--metrics-bind-address=$(NODE_IP):9999", 9999, "/var/opt/cni/bin", "/etc/cni/other", "--multus-kubeconfig-file-host=/etc/cni/other/splitnet.d/splitnet.kubeconfig", "ghcr.io/splitnet/splitnet:9.9.9"]' \
    "$(q "${E2E_TMP}/moved.yaml" "[[a for a in ${DS}[\"containers\"][0][\"args\"] if a.startswith(\"--metrics\")][0], ${DS}[\"containers\"][0][\"ports\"][0][\"containerPort\"], [v[\"hostPath\"][\"path\"] for v in ${DS}[\"volumes\"] if v[\"name\"] == \"cni-bin\"][0], [v[\"hostPath\"][\"path\"] for v in ${DS}[\"volumes\"] if v[\"name\"] == \"cni-conf\"][0], [a for a in ${DS}[\"containers\"][0][\"args\"] if a.startswith(\"--multus-kubeconfig\")][0], ${DS}[\"containers\"][0][\"image\"]]")"
render --set crds.enabled=false >"${E2E_TMP}/nocrd.yaml"
assert_eq "crds.enabled=false: no CRD" '[]' "$(q "${E2E_TMP}/nocrd.yaml" 'kind("CustomResourceDefinition")')"
printf 'extraArgs: ["--namespace-isolation=true"]\n' >"${E2E_TMP}/extra.yaml"
render -f "${E2E_TMP}/extra.yaml" >"${E2E_TMP}/extra-out.yaml"
assert_eq "extraArgs are appended" '"--namespace-isolation=true"' \
    "$(q "${E2E_TMP}/extra-out.yaml" "${DS}[\"containers\"][0][\"args\"][-1]")"
"$RENDER" --release vpn --namespace net-system "$CHART" >"${E2E_TMP}/ns.yaml"
assert_eq "another release and namespace: names and namespaces follow, nothing says kube-system" \
    '[["vpn-splitnet"], ["net-system"], "vpn-splitnet", "net-system", false]' \
    "$(q "${E2E_TMP}/ns.yaml" '[sorted({d["metadata"]["name"] for d in docs if d["kind"] != "CustomResourceDefinition"}), sorted({d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]}), kind("ClusterRoleBinding")[0]["subjects"][0]["name"], kind("ClusterRoleBinding")[0]["subjects"][0]["namespace"], "kube-system" in str(docs)]')"
counted python3 "$CHECK" rbac "${E2E_TMP}/ns.yaml"

# An overlay that sets its own namespace moves everything, the binding's subject included.
# `bases:` because kubectl 1.20's kustomize takes directories only there (newer ones warn).
overlay_dir=${E2E_TMP}/overlay
mkdir -p "$overlay_dir"
printf 'namespace: net-system\nbases:\n  - %s\n' \
    "$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
        "${E2E_SOURCE_DIR}/deploy/kustomize" "$overlay_dir")" >"${overlay_dir}/kustomization.yaml"
kubectl kustomize "$overlay_dir" >"${E2E_TMP}/overlay.yaml" 2>"${E2E_TMP}/overlay.err"
assert_eq "a kustomize overlay's namespace reaches every object and the binding's subject" \
    '[["net-system"], "net-system", false]' \
    "$(q "${E2E_TMP}/overlay.yaml" '[sorted({d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]}), kind("ClusterRoleBinding")[0]["subjects"][0]["namespace"], "kube-system" in str(docs)]')"
counted python3 "$CHECK" rbac "${E2E_TMP}/overlay.yaml"

# §4 uninstall.enabled: `splitnet uninstall` with install's directory flags runs as an init
# container on every node, then a pause container; no install loop is left to restore the files.
render --set uninstall.enabled=true >"${E2E_TMP}/uninstall.yaml"
counted python3 "$CHECK" sane "${E2E_TMP}/uninstall.yaml"
assert_eq "uninstall: the init container runs splitnet uninstall; only pause runs after it" \
    '[["/splitnet", "uninstall"], ["pause"]]' \
    "$(q "${E2E_TMP}/uninstall.yaml" "[${DS}[\"initContainers\"][0][\"command\"], [c[\"name\"] for c in ${DS}[\"containers\"]]]")"
assert_eq "uninstall: no host directory is mounted but the three it cleans" \
    '["cni-bin", "cni-conf", "cni-multus-conf"]' \
    "$(q "${E2E_TMP}/uninstall.yaml" "[v[\"name\"] for v in ${DS}[\"volumes\"]]")"
assert_eq "uninstall takes exactly install's directory flags" \
    "$(q "${E2E_TMP}/chart.yaml" "[a for a in ${DS}[\"containers\"][0][\"args\"] if a.split(\"=\")[0] in (\"--cni-bin-dir\", \"--cni-conf-dir\", \"--multus-autoconfig-dir\", \"--multus-cni-conf-dir\", \"--multus-kubeconfig-file-host\")]")" \
    "$(q "${E2E_TMP}/uninstall.yaml" "${DS}[\"initContainers\"][0][\"args\"]")"
if "$SPLITNET_BINARY" help 2>&1 | grep -q '^  uninstall'; then
    mapfile -t UARGS < <(q "${E2E_TMP}/uninstall.yaml" "${DS}[\"initContainers\"][0][\"args\"]" |
        python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
    check "splitnet uninstall accepts the init container's arguments" \
        quietly "$SPLITNET_BINARY" uninstall "${UARGS[@]}" --help
else
    e2e_log "not checked: this binary has no uninstall subcommand yet (slice agent)"
fi

# §5 The base with kubectl 1.20's kustomize features only (Debian's kubernetes-client): no
# `labels:`, `patches:`, `replacements:`, components or remote bases.
check_not "the kustomization uses only kustomize v2.0.3 fields" \
    grep -Eq '^(labels|patches|replacements|components|helmCharts|openapi|sortOptions):' \
    "${E2E_SOURCE_DIR}/deploy/kustomize/kustomization.yaml"

e2e_summary
