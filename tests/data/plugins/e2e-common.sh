# shellcheck shell=sh
# Sourced by the fake CNI plugins in this directory (not a plugin itself: no execute bit).
# Reads the stdin config into $conf and offers small helpers. The plugins are deliberately
# dumb: they exercise splitnet's delegation, not networking.

conf=$(cat)

# key NAME: the first string value of "NAME" in the config (good enough for flat test keys).
key() {
    printf '%s' "$conf" | grep -o "\"$1\" *: *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"$/\1/'
}

# num NAME: the first numeric value of "NAME".
num() {
    printf '%s' "$conf" | grep -o "\"$1\" *: *[0-9][0-9]*" | head -n 1 | sed 's/.*: *//'
}

# spy: append one line per call to the file named by "spyLog", so tests can assert which
# attachments were added or deleted, in which order and with which environment.
spy() {
    log=$(key spyLog)
    [ -n "$log" ] || return 0
    printf '%s %s %s args=%s\n' "$(basename "$0")" "${CNI_COMMAND:-}" "${CNI_IFNAME:-}" \
        "${CNI_ARGS:-}" >>"$log"
}

print_version() {
    printf '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n'
}

# print_result: a result in the config's cniVersion for CNI_IFNAME with "fakeAddress".
print_result() {
    version=$(key cniVersion)
    address=$(key fakeAddress)
    [ -n "$address" ] || address=192.0.2.10/24
    case "$version" in
    0.*) ipversion='"version":"4",' ;;
    *) ipversion= ;;
    esac
    printf '{"cniVersion":"%s","interfaces":[{"name":"%s","mac":"02:00:00:00:00:01","sandbox":"%s"}],' \
        "$version" "$CNI_IFNAME" "$CNI_NETNS"
    printf '"ips":[{%s"interface":0,"address":"%s"}],"dns":{}}\n' "$ipversion" "$address"
}
