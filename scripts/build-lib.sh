# shellcheck shell=bash
# Shared by scripts/test.sh and scripts/demo.sh.

# configure_build DIR CMAKE_ARGS...: configure DIR with Ninja. A DIR configured earlier with
# another generator is removed first (CMake cannot switch generators in place).
configure_build() {
    local dir=$1
    shift
    if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
        echo "configure: $dir was made with another generator; starting it afresh"
        rm -rf -- "$dir"
    fi
    cmake -S . -B "$dir" -G Ninja -Wno-dev "$@" >/dev/null
}
