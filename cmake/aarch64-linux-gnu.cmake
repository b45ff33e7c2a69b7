# Cross build for arm64 (aarch64) with Debian's cross toolchain and multiarch libraries:
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install g++-aarch64-linux-gnu libnl-3-dev:arm64 libnl-route-3-dev:arm64 \
#       libspdlog-dev:arm64 libfmt-dev:arm64 libssl-dev:arm64
#   plus libyaml-cpp-dev:arm64 unpacked into SPLITNET_ARM64_ROOT (below), not installed
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#       -DCMAKE_BUILD_TYPE=Release -DSPLITNET_STATIC=ON -DSPLITNET_BUILD_TESTS=OFF
#   cmake --build build-arm64 --target splitnet
# scripts/install-deps.sh installs all of it; scripts/image.sh runs the build.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Debian multiarch: the arm64 libraries live in /usr/lib/aarch64-linux-gnu beside the host's,
# and the sysroot is /. Searching only that library directory keeps the host's amd64 .a files
# out; the architecture-independent headers (nlohmann/json, Boost) are shared.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# libyaml-cpp-dev is not Multi-Arch: same: installing its arm64 package would remove the host's.
# scripts/install-deps.sh unpacks it here instead, with its yaml-cpp.pc pointing at this root.
if(DEFINED ENV{SPLITNET_ARM64_ROOT})
  set(SPLITNET_ARM64_ROOT "$ENV{SPLITNET_ARM64_ROOT}")
else()
  set(SPLITNET_ARM64_ROOT /var/cache/splitnet/arm64-root)
endif()
if(NOT EXISTS "${SPLITNET_ARM64_ROOT}/usr/lib/aarch64-linux-gnu/libyaml-cpp.a")
  message(FATAL_ERROR "No arm64 yaml-cpp in ${SPLITNET_ARM64_ROOT}: run scripts/install-deps.sh")
endif()
set(ENV{PKG_CONFIG_LIBDIR} "${SPLITNET_ARM64_ROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Lets ctest and try_run() run arm64 binaries on an amd64 host (qemu-user-static).
find_program(SPLITNET_QEMU_AARCH64 qemu-aarch64-static)
if(SPLITNET_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SPLITNET_QEMU_AARCH64})
endif()
