# All dependencies come from Debian packages (see README "Dependencies").
find_package(PkgConfig REQUIRED)
if(SPLITNET_STATIC)
  # pkg-config's -l names are resolved with find_library(); prefer the .a archives so that
  # -static does not try to link a shared object.
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
endif()
pkg_check_modules(LIBNL REQUIRED IMPORTED_TARGET libnl-3.0 libnl-route-3.0)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
find_package(Threads REQUIRED)

# spdlog and fmt ship only shared libraries in Debian: use both header-only.
add_library(splitnet_deps INTERFACE)
target_compile_definitions(splitnet_deps INTERFACE
  SPDLOG_FMT_EXTERNAL SPDLOG_DISABLE_DEFAULT_LOGGER SPDLOG_NO_THREAD_ID
  BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_NO_DEPRECATED)
get_target_property(_spdlog_inc spdlog::spdlog INTERFACE_INCLUDE_DIRECTORIES)
target_include_directories(splitnet_deps SYSTEM INTERFACE ${_spdlog_inc})
target_link_libraries(splitnet_deps INTERFACE
  fmt::fmt-header-only PkgConfig::LIBNL nlohmann_json::nlohmann_json
  OpenSSL::SSL OpenSSL::Crypto Boost::headers PkgConfig::YAMLCPP Threads::Threads ${CMAKE_DL_LIBS})
