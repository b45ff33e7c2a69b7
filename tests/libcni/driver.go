// libcni-driver: runs a CNI network list through the real libcni (Debian's
// golang-github-appc-cni-dev, GOPATH mode), the way a container runtime or
// cnitool does. Used by tests/e2e/test_libcni.sh to prove that a runtime
// accepts splitnet's output and that chained plugins accept it as prevResult.
//
//	libcni-driver add|check|del|validate|version [flags]
//
// The list comes from -conflist FILE, or cnitool-style from -netconfpath DIR
// plus -name NET; `add|check|del NETWORK NETNS-PATH` is cnitool's own command
// line (see cnitoolArgs). Without -containerid the container ID is derived from the
// netns path exactly as cnitool does, so ADD and DEL on one netns match up.
//
// On success: add prints the result (list version) as JSON; check and del
// print nothing; validate prints the capabilities; version prints the
// plugin's VERSION info. On failure: the error on stderr ("error: ..."),
// plus, when the plugin returned a CNI error object, that object as JSON on
// stdout, and exit status 1.
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out, _ := json.Marshal(cniErr)
		fmt.Println(string(out))
	}
	os.Exit(1)
}

// parseArgs splits "K=V;K2=V2" like cnitool (each pair exactly one '=').
func parseArgs(s string) ([][2]string, error) {
	var result [][2]string
	if s == "" {
		return result, nil
	}
	for _, pair := range strings.Split(s, ";") {
		kv := strings.Split(pair, "=")
		if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
			return nil, fmt.Errorf("invalid CNI_ARGS pair %q", pair)
		}
		result = append(result, [2]string{kv[0], kv[1]})
	}
	return result, nil
}

// cnitoolArgs turns cnitool's command line into the driver's flags: cnitool is
// not packaged in Debian (golang-github-appc-cni-dev has libcni without it),
// and the README's manual-testing walkthrough uses this driver in its place.
//
//	add|check|del NETWORK NETNS-PATH
//
// with cnitool's environment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH,
// CNI_IFNAME (default eth0), CNI_ARGS and CAP_ARGS (a JSON object). As
// cnitool, it keeps libcni's cache in libcni's default /var/lib/cni.
func cnitoolArgs(args []string) ([]string, bool) {
	if len(args) != 3 || strings.HasPrefix(args[1], "-") {
		return nil, false
	}
	switch args[0] {
	case "add", "check", "del":
	default:
		return nil, false
	}
	env := func(name, fallback string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return fallback
	}
	return []string{
		"-netconfpath", env("NETCONFPATH", "/etc/cni/net.d"), "-name", args[1],
		"-netns", args[2], "-ifname", env("CNI_IFNAME", "eth0"),
		"-args", os.Getenv("CNI_ARGS"), "-capargs", os.Getenv("CAP_ARGS"),
		"-cachedir", "/var/lib/cni",
	}, true
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|check|del|validate|version [flags]\n"+
			"       libcni-driver add|check|del NETWORK NETNS-PATH   (cnitool's command line)")
		os.Exit(2)
	}
	verb := os.Args[1]
	flagArgs := os.Args[2:]
	if converted, ok := cnitoolArgs(os.Args[1:]); ok {
		flagArgs = converted
	}
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	conflist := fs.String("conflist", "", "conflist file")
	netconfpath := fs.String("netconfpath", "", "cnitool-style config dir (with -name)")
	name := fs.String("name", "", "network name to load from -netconfpath")
	netns := fs.String("netns", "", "netns path")
	ifname := fs.String("ifname", "eth0", "interface name")
	containerID := fs.String("containerid", "", "container ID (default: cnitool-style from netns)")
	pluginPath := fs.String("path", os.Getenv("CNI_PATH"), "plugin dirs, ':' separated")
	cacheDir := fs.String("cachedir", "", "libcni cache dir (required for add/check/del)")
	cniArgs := fs.String("args", "", "CNI_ARGS, K=V;K2=V2")
	capArgs := fs.String("capargs", "", "capability args as a JSON object")
	plugin := fs.String("plugin", "splitnet", "plugin type for the version verb")
	timeout := fs.Duration("timeout", 120*time.Second, "overall timeout")
	if err := fs.Parse(flagArgs); err != nil {
		fail(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cninet := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(*pluginPath), *cacheDir, nil)

	if verb == "version" {
		info, err := cninet.GetVersionInfo(ctx, *plugin)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(map[string]interface{}{"supportedVersions": info.SupportedVersions()})
		fmt.Println(string(out))
		return
	}

	var list *libcni.NetworkConfigList
	var err error
	switch {
	case *conflist != "":
		list, err = libcni.ConfListFromFile(*conflist)
	case *netconfpath != "" && *name != "":
		list, err = libcni.LoadConfList(*netconfpath, *name)
	default:
		err = errors.New("need -conflist FILE or -netconfpath DIR -name NET")
	}
	if err != nil {
		fail(err)
	}

	if verb == "validate" {
		caps, err := cninet.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(map[string]interface{}{"capabilities": caps})
		fmt.Println(string(out))
		return
	}

	if *cacheDir == "" {
		fail(errors.New("-cachedir is required: never use the host's /var/lib/cni"))
	}
	rt := &libcni.RuntimeConf{ContainerID: *containerID, NetNS: *netns, IfName: *ifname}
	if rt.NetNS != "" {
		if abs, err := filepath.Abs(rt.NetNS); err == nil {
			rt.NetNS = abs
		}
	}
	if rt.ContainerID == "" {
		sum := sha512.Sum512([]byte(rt.NetNS))
		rt.ContainerID = fmt.Sprintf("cnitool-%x", sum[:10])
	}
	if rt.Args, err = parseArgs(*cniArgs); err != nil {
		fail(err)
	}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(fmt.Errorf("bad -capargs: %w", err))
		}
	}

	switch verb {
	case "add":
		result, err := cninet.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := result.Print(); err != nil {
			fail(err)
		}
	case "check":
		if err := cninet.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cninet.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown verb %q", verb))
	}
}
