"""Checks the rendered Helm chart and the rendered kustomize base (tests/e2e/test_manifests.sh).

    manifests_check.py agree CHART.yaml KUSTOMIZE.yaml   same objects, modulo Helm's labels
    manifests_check.py rbac FILE.yaml                    the ClusterRole is exactly the table
    manifests_check.py sane FILE.yaml                    schema-level checks a server would make
    manifests_check.py query FILE.yaml EXPR              prints eval(EXPR) over `docs`

Prints "ok - ..." / "FAIL - ..." lines; the shell counts them.
"""
import copy
import json
import sys

import yaml

# Labels and annotations only Helm adds: the chart's objects equal the base's without them.
HELM_LABELS = {"helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"}
HELM_ANNOTATIONS = {"helm.sh/resource-policy"}

# docs/security.md's RBAC row: the plugin's and the agent's API calls, nothing else.
RBAC_TABLE = {
    ("k8s.cni.cncf.io", "network-attachment-definitions", "get"),
    ("", "pods", "get"),
    ("", "pods", "list"),
    ("", "pods", "delete"),
    ("", "pods/status", "update"),
    ("", "events", "create"),
    ("", "nodes", "get"),
    ("", "nodes", "patch"),
}

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def result(ok, desc):
    print(("ok - " if ok else "FAIL - ") + desc)
    return ok


def key(doc):
    meta = doc.get("metadata", {})
    return (doc.get("kind"), meta.get("name"), meta.get("namespace"))


def strip_helm(doc):
    doc = copy.deepcopy(doc)

    def clean(meta):
        for field, drop in (("labels", HELM_LABELS), ("annotations", HELM_ANNOTATIONS)):
            values = meta.get(field)
            if values is None:
                continue
            for k in drop:
                values.pop(k, None)
            if not values:
                del meta[field]

    clean(doc.setdefault("metadata", {}))
    template = doc.get("spec", {}).get("template", {})
    if "metadata" in template:
        clean(template["metadata"])
    return doc


def diff(a, b, where=""):
    """The first paths where a and b differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: {'missing in chart' if k not in a else 'missing in base'}")
            else:
                out += diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{where}[{i}]")
        return out
    return [] if a == b else [f"{where}: chart {json.dumps(a)} != base {json.dumps(b)}"]


def agree(chart_path, base_path):
    chart = {key(d): strip_helm(d) for d in load(chart_path)}
    base = {key(d): strip_helm(d) for d in load(base_path)}
    ok = result(sorted(chart, key=str) == sorted(base, key=str),
                f"the chart and the base hold the same objects: {sorted(base, key=str)}")
    if not ok:
        print(f"# chart only: {sorted(set(chart) - set(base), key=str)}")
        print(f"# base only: {sorted(set(base) - set(chart), key=str)}")
    for k in sorted(set(chart) & set(base), key=str):
        problems = diff(chart[k], base[k])
        result(not problems, f"{k[0]} {k[1]}: the chart equals the base (Helm labels aside)")
        for p in problems[:10]:
            print(f"#   {p}")


def rbac(path):
    docs = load(path)
    roles = [d for d in docs if d["kind"] == "ClusterRole"]
    result(len(roles) == 1 and not [d for d in docs if d["kind"] == "Role"],
           "one ClusterRole, no namespaced Role")
    granted = set()
    odd = []
    for role in roles:
        for rule in role.get("rules", []):
            if "resourceNames" in rule or "nonResourceURLs" in rule:
                odd.append(rule)
            for g in rule.get("apiGroups", []):
                for r in rule.get("resources", []):
                    for v in rule.get("verbs", []):
                        granted.add((g, r, v))
    result(not odd, "no rule names objects or non-resource URLs")
    result(granted == RBAC_TABLE,
           "the ClusterRole grants exactly docs/security.md's RBAC row"
           + ("" if granted == RBAC_TABLE else
              f": extra {sorted(granted - RBAC_TABLE)}, missing {sorted(RBAC_TABLE - granted)}"))
    wildcard = [g for g in granted if "*" in g]
    result(not wildcard, "no wildcard group, resource or verb")
    accounts = {(d["metadata"]["name"], d["metadata"].get("namespace"))
                for d in docs if d["kind"] == "ServiceAccount"}
    daemonsets = [d for d in docs if d["kind"] == "DaemonSet"]
    for binding in (d for d in docs if d["kind"] == "ClusterRoleBinding"):
        result(binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": "ClusterRole",
                                      "name": roles[0]["metadata"]["name"]},
               "the ClusterRoleBinding binds that ClusterRole")
        subjects = {(s["name"], s.get("namespace")) for s in binding["subjects"]}
        result(subjects <= accounts and len(subjects) == 1,
               f"... to the ServiceAccount of the release: {sorted(subjects)}")
        for ds in daemonsets:
            pod = ds["spec"]["template"]["spec"]
            result({(pod["serviceAccountName"], ds["metadata"]["namespace"])} == subjects,
                   "the DaemonSet runs as that ServiceAccount, in its namespace")


def sane(path):
    """What an API server would refuse, checked without one."""
    docs = load(path)
    for d in docs:
        name = f"{d.get('kind')} {d.get('metadata', {}).get('name')}"
        result(bool(d.get("apiVersion")) and bool(d.get("kind"))
               and bool(d.get("metadata", {}).get("name")), f"{name}: apiVersion, kind, name")
        if d["kind"] not in CLUSTER_SCOPED:
            result(bool(d["metadata"].get("namespace")), f"{name}: has a namespace")
        if d["kind"] == "CustomResourceDefinition":
            spec = d["spec"]
            result(d["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}",
                   f"{name}: named <plural>.<group>")
            storage = [v for v in spec["versions"] if v.get("storage")]
            result(len(storage) == 1 and all("openAPIV3Schema" in v["schema"]
                                             for v in spec["versions"]),
                   f"{name}: one storage version, every version has a schema")
        if d["kind"] != "DaemonSet":
            continue
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        result(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
               f"{name}: the selector matches the pod template's labels")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        containers = pod.get("initContainers", []) + pod["containers"]
        names = [c["name"] for c in containers]
        result(len(names) == len(set(names)), f"{name}: container names are unique")
        for c in containers:
            cname = f"{name}/{c['name']}"
            mounts = c.get("volumeMounts", [])
            result(all(m["name"] in volumes for m in mounts), f"{cname}: every mount has a volume")
            result(all(m.get("mountPropagation", "None") in ("None", "HostToContainer")
                       for m in mounts),
                   f"{cname}: no Bidirectional propagation (it would need privileged)")
            sc = c.get("securityContext", {})
            caps = sc.get("capabilities", {}).get("add", [])
            result(not (sc.get("allowPrivilegeEscalation") is False
                        and ("SYS_ADMIN" in caps or "CAP_SYS_ADMIN" in caps
                             or sc.get("privileged"))),
                   f"{cname}: allowPrivilegeEscalation=false is not combined with SYS_ADMIN")
            result(not sc.get("privileged"), f"{cname}: not privileged")
            result(sc.get("capabilities", {}).get("drop") == ["ALL"],
                   f"{cname}: drops every capability it does not add")
            for p in c.get("ports", []):
                result(isinstance(p["containerPort"], int) and 0 < p["containerPort"] < 65536,
                       f"{cname}: port {p['containerPort']} is a number")
            for e in c.get("env", []):
                path_ = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                if path_ is not None:
                    result(path_ in ("metadata.name", "metadata.namespace", "metadata.uid",
                                     "spec.nodeName", "spec.serviceAccountName",
                                     "status.hostIP", "status.podIP", "status.podIPs",
                                     "status.hostIPs"),
                           f"{cname}: env {e['name']} from a downward-API field ({path_})")


def query(path, expr):
    docs = load(path)
    print(json.dumps(eval(expr, {"docs": docs, "kind": lambda k: [d for d in docs if d["kind"] == k]})))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"agree": agree, "rbac": rbac, "sane": sane, "query": query}[command](*args)
