"""Shared by bench/pod_add_del.py and bench/node_storm.py: the pod-level variants and
how one pod is ADDed and DELed through each of them.

  primary          Debian ptp + host-local on eth0, alone
  splitnet         splitnet with that primary as its delegate plus a native macvlan + static net1
  splitnet_egress  the same, net1 with the VPN egress policy (probeGateway require,
                   probeConflict, IPv6 blocked, cluster routes kept)
  chain            ptp on eth0, then /usr/lib/cni/macvlan (which execs static) on net1, exec'd one
                   after the other: Multus "thin" minus its own cost. DEL in reverse order.
  floor            the least any plugin that runs the primary and makes net1 can cost: a static C
                   program (FLOOR_C) that starts ptp with the runtime's stdin and stdout and,
                   beside it, one `ip` command that adds (ADD) or deletes (DEL) a macvlan net1 in
                   the pod netns; it does nothing else (no config, no address, no state)
  floor_safe       the floor plus what kill safety needs at least (FLOOR_C with STATE_DIR): a
                   lock file taken for the container, and a state file of about splitnet's size
                   written (temp file, then renamed into place) before the first side effect and
                   again after the last, as splitnet does; DEL removes both
  floor_netlink    the floor with net1 made as splitnet makes it, in its own process through
                   netlink while ptp runs (FLOOR_C with IN_PROCESS): the macvlan created into the
                   pod netns, then (setns) its address (FLOOR_NET1) added and the link set up, as
                   static would; DEL deletes it there. No exec beside ptp: what is left over the
                   primary is one process start and the kernel's work for net1
  (splitnet_b, splitnet_b_egress: the same two splitnet rows for a second binary, --splitnet-b)

Every command is started by the measuring launcher of macvlan_add_del.py (through load.Runner):
wall time fork..wait4, CPU user+sys of the plugin and every child it waited for, peak RSS. A
chain's figures are the sums of its steps (peak RSS: the largest); the gap between two steps
(this script's own spawning) is left out, as it would be Multus's cost.

With --api, the splitnet variants are configured as on a Kubernetes node: the primary inline, a
kubeconfig, and net1 from a NetworkAttachmentDefinition the pod's annotation names, read (with
the pod) from the TLS stand-in API server of the tests (tests/testutil/fake_apiserver.py, in the
node netns); after ADD splitnet writes the pod's network-status and posts its Events there. The
stand-in is Python: its answers are slower than a real API server's, the same for A and B.

The node and its VPN gateway netns are load.Node's: the private netns this process moved into
with unshare, a veth vpn0 into <prefix>-gw holding the gateway 198.18.0.1.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile

from load import (NET1_GATEWAY, NET1_SUBNET, ETH0_GATEWAY, ETH0_SUBNET, REFERENCE_DIR, Node,
                  Runner, Stop, STOPPING, run_cmd)
from macvlan_add_del import LAUNCHER_C, compile_c, unshare_net

SPLITNET_VARIANTS = ("splitnet", "splitnet_egress")
B_VARIANTS = ("splitnet_b", "splitnet_b_egress")
# Variants whose result is the primary's (no net1 in it).
FLOOR_VARIANTS = ("floor", "floor_safe", "floor_netlink")
PRIMARY_RESULT_VARIANTS = ("primary", *FLOOR_VARIANTS, "chain")

# What variant "floor" runs: this process's own start (a static binary: the exec floor), the
# primary as a child, and the kernel's work for net1 beside it. Its figures are what a pod with a
# net1 costs at least, whatever runs the primary; splitnet / floor is what is splitnet's own.
# With STATE_DIR defined it is variant "floor_safe": splitnet's kill-safety writes added; with
# IN_PROCESS, variant "floor_netlink": net1 through netlink in this process instead of `ip`.
FLOOR_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
static int ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
#ifdef STATE_DIR
static char state[4096], temp[4096];
/* The state (1.5 KiB, about splitnet's with two attachments) to a temp file, then into place:
   renamed the first time, exchanged with the old one and that unlinked the second (as
   util::write_file_atomic, which thereby avoids ext4's writeback on a rename over a file). */
static int save(int first) {
    static char body[1536];
    memset(body, 'x', sizeof body);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int whole = write(fd, body, sizeof body) == (ssize_t)sizeof body;
    close(fd);
    if (!whole) return -1;
    if (first) return rename(temp, state);
    return renameat2(AT_FDCWD, temp, AT_FDCWD, state, RENAME_EXCHANGE) == 0 ? unlink(temp) : -1;
}
#endif
#ifdef IN_PROCESS
/* One request, its ACK awaited: 0 or the kernel's -errno. */
struct request {
    struct nlmsghdr header;
    union { struct ifinfomsg link; struct ifaddrmsg address; } body;
    char attributes[256];
};
static struct rtattr* put(struct request* r, int type, const void* data, int length) {
    struct rtattr* a = (struct rtattr*)((char*)r + NLMSG_ALIGN(r->header.nlmsg_len));
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(length);
    if (length) memcpy(RTA_DATA(a), data, length);
    r->header.nlmsg_len = NLMSG_ALIGN(r->header.nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}
static void close_nest(struct request* r, struct rtattr* nest) {
    nest->rta_len = (unsigned short)((char*)r + r->header.nlmsg_len - (char*)nest);
}
static void start(struct request* r, int type, int flags, size_t body) {
    memset(r, 0, sizeof *r);
    r->header.nlmsg_len = NLMSG_LENGTH(body);
    r->header.nlmsg_type = type;
    r->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
}
static int talk(int fd, struct request* r) {
    if (send(fd, r, r->header.nlmsg_len, 0) < 0) return -1;
    char answer[4096];
    ssize_t n = recv(fd, answer, sizeof answer, 0);
    struct nlmsghdr* h = (struct nlmsghdr*)answer;
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || h->nlmsg_type != NLMSG_ERROR) return -1;
    return ((struct nlmsgerr*)NLMSG_DATA(h))->error;
}
static int route_socket(void) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }
/* ADD: net1 created into the pod netns from here, then (in it) addressed and set up; DEL: net1
   deleted in the pod netns. This process is single-threaded: setns moves all of it. */
static int net1(int add, const char* netns) {
    struct request r;
    int pod = open(netns, O_RDONLY | O_CLOEXEC), fd = route_socket();
    if (pod < 0 || fd < 0) return -1;
    if (add) {
        int master = (int)if_nametoindex(MASTER);
        unsigned mode = MACVLAN_MODE_BRIDGE;
        start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof r.body.link);
        put(&r, IFLA_IFNAME, "net1", 5);
        put(&r, IFLA_LINK, &master, 4);
        put(&r, IFLA_NET_NS_FD, &pod, 4);
        struct rtattr* info = put(&r, IFLA_LINKINFO, 0, 0);
        put(&r, IFLA_INFO_KIND, "macvlan", 7);
        struct rtattr* data = put(&r, IFLA_INFO_DATA, 0, 0);
        put(&r, IFLA_MACVLAN_MODE, &mode, 4);
        close_nest(&r, data);
        close_nest(&r, info);
        if (talk(fd, &r) != 0) return -1;
    }
    close(fd);
    if (setns(pod, CLONE_NEWNET) != 0 || (fd = route_socket()) < 0) return -1;
    int index = (int)if_nametoindex("net1");
    if (!index) return -1;
    if (!add) {
        start(&r, RTM_DELLINK, 0, sizeof r.body.link);
        r.body.link.ifi_index = index;
        return talk(fd, &r);
    }
    char address[64];
    const char* cidr = getenv("FLOOR_NET1");
    const char* slash = cidr ? strchr(cidr, '/') : 0;
    struct in_addr local;
    if (!slash || slash - cidr >= (long)sizeof address) return -1;
    memcpy(address, cidr, slash - cidr);
    address[slash - cidr] = 0;
    if (inet_pton(AF_INET, address, &local) != 1) return -1;
    start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof r.body.address);
    r.body.address.ifa_family = AF_INET;
    r.body.address.ifa_prefixlen = (unsigned char)atoi(slash + 1);
    r.body.address.ifa_index = (unsigned)index;
    put(&r, IFA_LOCAL, &local, 4);
    put(&r, IFA_ADDRESS, &local, 4);
    if (talk(fd, &r) != 0) return -1;
    start(&r, RTM_NEWLINK, 0, sizeof r.body.link);
    r.body.link.ifi_index = index;
    r.body.link.ifi_flags = IFF_UP;
    r.body.link.ifi_change = IFF_UP;
    return talk(fd, &r);
}
#endif
int main(void) {
    const char* command = getenv("CNI_COMMAND");
    const char* netns = getenv("CNI_NETNS");
    if (!command || !netns) return 2;
#ifdef STATE_DIR
    const char* id = getenv("CNI_CONTAINERID");
    char lock[4096];
    if (!id) return 2;
    snprintf(lock, sizeof lock, "%s/%s.lock", STATE_DIR, id);
    snprintf(state, sizeof state, "%s/%s.json", STATE_DIR, id);
    snprintf(temp, sizeof temp, "%s/.%s.json.tmp", STATE_DIR, id);
    mkdir(STATE_DIR, 0700);
    int lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) return 5;
    if (!strcmp(command, "ADD") && save(1) != 0) return 5;
#endif
    char* pod = strrchr(netns, '/') ? strrchr(netns, '/') + 1 : (char*)netns;
    char* add[] = {"ip", "link", "add", "net1", "link", MASTER, "netns", pod,
                   "type", "macvlan", "mode", "bridge", 0};
    char* del[] = {"ip", "-n", pod, "link", "del", "net1", 0};
    char** side = !strcmp(command, "ADD") ? add : !strcmp(command, "DEL") ? del : 0;
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    pid_t side_pid = 0, primary_pid = 0;
#ifndef IN_PROCESS
    if (side && posix_spawnp(&side_pid, "ip", &quiet, 0, side, environ) != 0) return 3;
#endif
    char* primary[] = {PRIMARY, 0};
    if (posix_spawn(&primary_pid, PRIMARY, 0, 0, primary, environ) != 0) return 3;
    int primary_status = 0, side_status = 0, side_failed = 0;
#ifdef IN_PROCESS
    side_failed = side && net1(side == add, netns) != 0;
#endif
    if (waitpid(primary_pid, &primary_status, 0) < 0) return 4;
    if (side_pid && waitpid(side_pid, &side_status, 0) < 0) return 4;
#ifdef STATE_DIR
    if (!strcmp(command, "ADD") && save(0) != 0) return 5;
    if (!strcmp(command, "DEL") && (unlink(state) != 0 || unlink(lock) != 0)) return 5;
#endif
    return ok(primary_status) && (!side_pid || ok(side_status)) && !side_failed ? 0 : 1;
}
"""


def primary_conf(node):
    return {"cniVersion": "1.0.0", "name": "cluster", "type": "ptp", "ipMasq": False,
            "ipam": {"type": "host-local", "dataDir": node.ipam_dir,
                     "ranges": [[{"subnet": ETH0_SUBNET, "gateway": ETH0_GATEWAY}]],
                     "routes": [{"dst": "0.0.0.0/0"}]}}


def net1_conf(address, egress):
    conf = {"cniVersion": "1.0.0", "name": "vpn", "type": "macvlan", "master": "vpn0",
            "mode": "bridge",
            "ipam": {"type": "static", "addresses": [
                {"address": f"{address}/{NET1_SUBNET.prefixlen}", "gateway": NET1_GATEWAY}]}}
    if egress:
        conf["egress"] = {"gateway": NET1_GATEWAY, "keep": ["cluster"], "ipv6": "block",
                          "probeGateway": "require", "probeConflict": True}
    return conf


def splitnet_conf(node, address, egress, extra):
    conf = {"cniVersion": "1.0.0", "name": "splitnet-bench", "type": "splitnet",
            "cniDir": node.cni_dir, "binDir": REFERENCE_DIR,
            "clusterCIDRs": ["10.42.0.0/16", "10.43.0.0/16"],
            "delegates": [primary_conf(node), net1_conf(address, egress)]}
    conf.update(extra)
    return conf


def api_conf(node, pod, conf):
    """conf (splitnet_conf) as on a Kubernetes node: net1 comes from the pod's annotation."""
    conf = dict(conf, kubeconfig=node.api.kubeconfig)
    conf["delegates"] = conf["delegates"][:1]
    node.api.put(pod)
    return conf


class ApiStandIn:
    """The TLS stand-in API server of the tests, started in this (the node's) netns, and the
    pods and NADs of the pod-level variants in its data directory."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                          "testutil", "fake_apiserver.py")
    NAMESPACE = "bench"

    def __init__(self, tmp):
        self.data = os.path.join(tmp, "api")
        token = secrets.token_hex(16)
        self.process = subprocess.Popen(
            [sys.executable, self.SCRIPT, "--data", self.data, "--token", token,
             "--log", os.path.join(tmp, "api-requests.log")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = json.loads(self.process.stdout.readline() or "null")
        if not ready:
            raise RuntimeError("the stand-in API server did not start")
        self.kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "bench",
                       "clusters": [{"name": "bench", "cluster": {
                           "server": f"https://127.0.0.1:{ready['port']}",
                           "certificate-authority": ready["ca"]}}],
                       "users": [{"name": "bench", "user": {"token": token}}],
                       "contexts": [{"name": "bench",
                                     "context": {"cluster": "bench", "user": "bench"}}]}, f)
        self.written = set()

    def put(self, pod):
        """The pod object of `pod` and its NAD (named after it), once."""
        if pod.api_name in self.written:
            return
        self.written.add(pod.api_name)
        for kind in ("pods", "nads"):
            os.makedirs(os.path.join(self.data, kind, self.NAMESPACE), exist_ok=True)
        net1 = net1_conf(pod.net1, pod.variant.endswith("_egress"))
        net1.pop("name")
        nad = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
               "metadata": {"name": pod.api_name, "namespace": self.NAMESPACE},
               "spec": {"config": json.dumps(net1)}}
        obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": pod.api_name, "namespace": self.NAMESPACE,
                            "uid": f"uid-{pod.api_name}", "resourceVersion": "1",
                            "annotations": {"k8s.v1.cni.cncf.io/networks": pod.api_name}},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        for kind, body in (("nads", nad), ("pods", obj)):
            with open(os.path.join(self.data, kind, self.NAMESPACE, f"{pod.api_name}.json"),
                      "w") as f:
                json.dump(body, f)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def net1_address(index):
    """A distinct static net1 address per pod: 198.18.0.10 onwards (.1 is the gateway)."""
    address = NET1_SUBNET.network_address + 10 + index
    if address >= NET1_SUBNET.broadcast_address:
        raise ValueError("too many pods for the net1 subnet")
    return str(address)


class Binaries:
    """One load.Runner (launcher + bounded wait + kill on stop) per binary."""

    def __init__(self, launcher, floors, splitnet_a, splitnet_b, timeout):
        paths = [os.path.join(REFERENCE_DIR, "ptp"), os.path.join(REFERENCE_DIR, "macvlan"),
                 *floors.values(), splitnet_a] + ([splitnet_b] if splitnet_b else [])
        self.runners = {p: Runner(launcher, p, timeout) for p in paths}
        self.floors = floors  # variant -> binary
        self.splitnet = {"splitnet": splitnet_a, "splitnet_egress": splitnet_a,
                         "splitnet_b": splitnet_b, "splitnet_b_egress": splitnet_b}

    def kill_all(self):
        for r in self.runners.values():
            r.kill_all()


def variants(splitnet_b):
    return (("primary", *FLOOR_VARIANTS, *SPLITNET_VARIANTS, "chain") +
            (B_VARIANTS if splitnet_b else ()))


class Pod:
    """One pod netns and the container ID of one variant; knows the steps of its ADD and DEL."""

    def __init__(self, node, variant, index, extra_a=None, extra_b=None, tag=""):
        self.node = node
        self.variant = variant
        self.index = index
        self.name = f"{node.prefix}-{variant.replace('_', '-')}-{index}{tag}"
        self.container_id = f"bench-{variant}-{index}{tag}-{secrets.token_hex(4)}"
        self.net1 = net1_address(index)
        self.extra = (extra_b if variant in B_VARIANTS else extra_a) or {}
        self.result = None
        self.created = False
        self.api_name = f"{variant.replace('_', '-')}-{index}{tag}".lower()

    def env(self, command, ifname):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
        e.update({"CNI_COMMAND": command, "CNI_CONTAINERID": self.container_id,
                  "CNI_NETNS": f"/run/netns/{self.name}", "CNI_IFNAME": ifname,
                  "CNI_PATH": REFERENCE_DIR})
        if self.node.api and self.variant not in PRIMARY_RESULT_VARIANTS:
            e["CNI_ARGS"] = (f"IgnoreUnknown=1;K8S_POD_NAMESPACE={ApiStandIn.NAMESPACE};"
                             f"K8S_POD_NAME={self.api_name};"
                             f"K8S_POD_INFRA_CONTAINER_ID={self.container_id}")
        return e

    def steps(self, command):
        """[(binary, env, stdin bytes)] in the order they run."""
        node = self.node
        if self.variant == "primary":
            return [(os.path.join(REFERENCE_DIR, "ptp"), self.env(command, "eth0"),
                     json.dumps(primary_conf(node)).encode())]
        if self.variant in FLOOR_VARIANTS:
            env = dict(self.env(command, "eth0"),
                       FLOOR_NET1=f"{self.net1}/{NET1_SUBNET.prefixlen}")
            return [("floor", env, json.dumps(primary_conf(node)).encode())]
        if self.variant == "chain":
            steps = [(os.path.join(REFERENCE_DIR, "ptp"), self.env(command, "eth0"),
                      json.dumps(primary_conf(node)).encode()),
                     (os.path.join(REFERENCE_DIR, "macvlan"), self.env(command, "net1"),
                      json.dumps(net1_conf(self.net1, egress=False)).encode())]
            return steps if command == "ADD" else steps[::-1]
        conf = splitnet_conf(node, self.net1, self.variant.endswith("_egress"), self.extra)
        if node.api:
            conf = api_conf(node, self, conf)
        if command == "DEL" and self.result:
            conf["prevResult"] = self.result
        return [(None, self.env(command, "eth0"), json.dumps(conf).encode())]


def run_pod(binaries, pod, command, stderr_fd):
    """Runs the pod's steps for command, stopping at the first failure. Returns
    dict(ok, wall, cpu, rss, why): sums of wall and CPU over the steps, the largest peak RSS."""
    total = {"ok": True, "wall": 0.0, "cpu": 0.0, "rss": 0, "why": ""}
    for binary, env, stdin_bytes in pod.steps(command):
        binary = (binaries.floors[pod.variant] if binary == "floor"
                  else binary or binaries.splitnet[pod.variant])
        res = binaries.runners[binary].run(env, stdin_bytes, stderr_fd)
        if res["timed_out"] or res["rc"] != 0:
            why = "timed out (killed)" if res["timed_out"] else f"exit {res['rc']}"
            total.update(ok=False, why=f"{command} {pod.container_id} {os.path.basename(binary)}"
                         f": {why}: {res['out'][:300].decode(errors='replace')}")
            return total
        total["wall"] += res["wall"]
        total["cpu"] += res["cpu"]
        total["rss"] = max(total["rss"], res["rss"])
        if command == "ADD" and pod.variant not in PRIMARY_RESULT_VARIANTS:
            try:
                pod.result = json.loads(res["out"])
            except ValueError:
                total.update(ok=False, why=f"ADD {pod.container_id}: not JSON: {res['out'][:300]}")
    return total


def parse_extra(items):
    """--set KEY=JSON pairs into a dict (e.g. a config key of the binary under test)."""
    extra = {}
    for item in items or []:
        key, _, value = item.partition("=")
        extra[key] = json.loads(value)
    return extra


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def argument_parser(doc):
    """The flags both pod-level benchmarks take: the binaries A and B and their extra keys."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True, help="path of the splitnet binary (A)")
    ap.add_argument("--splitnet-b", help="a second splitnet binary (B), measured alongside")
    ap.add_argument("--set", action="append", metavar="KEY=JSON",
                    help="a top-level config key for A's config (repeatable)")
    ap.add_argument("--set-b", action="append", metavar="KEY=JSON",
                    help="a top-level config key for B's config (repeatable)")
    ap.add_argument("--api", action="store_true",
                    help="splitnet reads the pod and net1's NAD from the stand-in API server")
    return ap


def binaries_of(args):
    """(A, B or None) as absolute paths, after checking that this runs as root."""
    if os.geteuid() != 0:
        sys.exit("needs root")
    return (os.path.abspath(args.splitnet),
            os.path.abspath(args.splitnet_b) if args.splitnet_b else None)


@contextlib.contextmanager
def bench_node(kind, splitnet_a, splitnet_b, timeout, api=False):
    """Moves this process into a private netns and yields (node, binaries, tmp): a load.Node
    whose namespaces are named splitnet-<kind>-<random>-*, set up, and the Binaries with the
    measuring launcher built. A stop signal kills every launched process and raises Stop; on
    exit everything is removed and what is left (nothing, normally) is printed."""
    binaries = []

    def on_signal(signum, _frame):
        for b in binaries:
            b.kill_all()
        STOPPING.set()
        raise Stop(f"signal {signum}")

    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    unshare_net()
    prefix = f"splitnet-{kind}-{secrets.token_hex(3)}"
    tmp = tempfile.mkdtemp(prefix=f"splitnet-{kind}-")
    node = Node(prefix, tmp)
    node.api = None
    try:
        node.setup()
        if api:
            node.api = ApiStandIn(tmp)
            node.helpers.add(node.api.process.pid)
        launcher = compile_c(tmp, "launcher", LAUNCHER_C)
        floor_flags = ("-static", "-DMASTER=\"vpn0\"",
                       f"-DPRIMARY=\"{os.path.join(REFERENCE_DIR, 'ptp')}\"")
        floors = {"floor": compile_c(tmp, "floor", FLOOR_C, *floor_flags),
                  "floor_safe": compile_c(tmp, "floor_safe", FLOOR_C, *floor_flags,
                                          f"-DSTATE_DIR=\"{node.cni_dir}\""),
                  "floor_netlink": compile_c(tmp, "floor_netlink", FLOOR_C, *floor_flags,
                                             "-DIN_PROCESS")}
        binaries.append(Binaries(launcher, floors, splitnet_a, splitnet_b, timeout))
        yield node, binaries[0], tmp
    finally:
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        for b in binaries:
            b.kill_all()
        if node.api:
            node.api.stop()
        node.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
        left = [n for n in run_cmd("ip", "netns", "list").splitlines() if n.startswith(prefix)]
        print(f"cleaned up: namespaces {prefix}-* left: {len(left)}")
