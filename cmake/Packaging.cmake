# `cmake --install` and the .deb (CPack): for node images built without Kubernetes (a golden
# image, a Talos-like extension), where no DaemonSet copies the binary.
#   cmake --install build [--prefix /usr] [--strip]     (DESTDIR=... for a staging root)
#   cpack --config build/CPackConfig.cmake -B build/package  -> splitnet_<version>_<arch>.deb
# The binary goes where runtimes look for CNI plugins, whatever the prefix. The example configs
# go under the docs, not into /etc/cni/net.d: a package must not write a live CNI config, which
# the runtime would pick up (and route every pod through) the moment it lands.
include(GNUInstallDirs)

# `ninja install` and cpack build only what they install (the splitnet target, built first by
# the caller), not every test suite: scripts/image.sh and the arm64 CI step build `splitnet` only.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(SPLITNET_INSTALL_CNI_BIN_DIR "/opt/cni/bin" CACHE PATH
  "Where `cmake --install` and the .deb put the splitnet binary (the runtimes' CNI bin dir)")

install(TARGETS splitnet RUNTIME DESTINATION ${SPLITNET_INSTALL_CNI_BIN_DIR})
file(GLOB _splitnet_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${_splitnet_docs}
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
set(CPACK_PACKAGE_CONTACT "splitnet maintainers <maintainers@splitnet.invalid>")
# Debian policy: /usr/share/doc/<package>/copyright (machine-readable, pointing at Debian's copy of
# the Apache licence) and, for a native package, changelog.gz compressed with -9n.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/changelog.in ${PROJECT_BINARY_DIR}/deb/changelog @ONLY)
execute_process(COMMAND gzip -9nc ${PROJECT_BINARY_DIR}/deb/changelog
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/deb/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${PROJECT_BINARY_DIR}/deb/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Why /opt/cni/bin and a static binary are right here (lintian would flag both).
install(FILES ${PROJECT_SOURCE_DIR}/cmake/deb/lintian-overrides
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME splitnet)
install(FILES
  ${PROJECT_SOURCE_DIR}/conf/00-splitnet.conflist
  ${PROJECT_SOURCE_DIR}/conf/10-splitnet-demo.conflist
  ${PROJECT_SOURCE_DIR}/conf/nad-unifi-vpn.yaml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Debian's architecture name of the target, also when cross-building (dpkg would name the host).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(_splitnet_deb_arch arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_splitnet_deb_arch amd64)
else()
  set(_splitnet_deb_arch ${CMAKE_SYSTEM_PROCESSOR})
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME splitnet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "splitnet")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "multi-network CNI plugin, a drop-in for the Multus thin plugin")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_splitnet_deb_arch})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/splitnet/splitnet")
# The extended description (the synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "One statically linked executable that a container runtime runs as a CNI
plugin: eth0 is delegated to the cluster's primary CNI plugin, secondary
networks come from NetworkAttachmentDefinitions, and a macvlan + static
secondary with a VPN egress policy is made natively. Installs
/opt/cni/bin/splitnet; example node configs are in
/usr/share/doc/splitnet/examples (none is made live).")
# Statically linked: no shared library dependencies to compute.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
