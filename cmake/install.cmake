# Components (the Debian packages of cmake/package.cmake): dev (libraries,
# headers, CMake and pkg-config files, examples) and server (the CLI).
# `cmake --install`: the public headers under include/switchboard/, the two
# libraries, the CLI, a CMake package (find_package(switchboard CONFIG)) and
# pkg-config files, and the examples under share/switchboard/examples/.
# Listener, sessions, corking layer and node internals are
# not installed.
# Debian's multiarch library directory (lib/x86_64-linux-gnu) for every
# prefix, as the -dev package needs it (lintian: pkg-config files outside it
# are invisible to cross builds); /usr/local/lib/<triplet> is on Debian's
# linker, CMake and pkg-config search paths too. -DCMAKE_INSTALL_LIBDIR=...
# still wins.
if(CMAKE_LIBRARY_ARCHITECTURE AND NOT DEFINED CACHE{CMAKE_INSTALL_LIBDIR})
  set(CMAKE_INSTALL_LIBDIR lib/${CMAKE_LIBRARY_ARCHITECTURE} CACHE PATH
    "Object code libraries (lib)")
endif()
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(switchboard_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/switchboard)

install(TARGETS switchboard_lib switchboard_testing EXPORT switchboard_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev)
install(FILES ${switchboard_public_headers} ${switchboard_testing_headers}
              ${switchboard_public_include}/switchboard/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/switchboard COMPONENT dev)
if(TARGET switchboard)
  install(TARGETS switchboard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
endif()
# Runnable examples, each a project of its own that builds against the
# installed package (tests/consumer/run.sh builds and runs them).
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/switchboard/examples
  COMPONENT dev)

install(EXPORT switchboard_targets NAMESPACE switchboard::
  FILE switchboardTargets.cmake DESTINATION ${switchboard_cmake_dir} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/switchboardConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfig.cmake
  INSTALL_DESTINATION ${switchboard_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/switchboardConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfigVersion.cmake
              ${CMAKE_CURRENT_SOURCE_DIR}/cmake/caf.cmake
  DESTINATION ${switchboard_cmake_dir} COMPONENT dev)

# pkg-config, for builds without CMake. CAF ships no .pc file, so its
# libraries are named directly. The files find the prefix from their own
# place (${pcfiledir}), so an installed tree can move.
file(RELATIVE_PATH switchboard_pc_to_prefix
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
foreach(pc switchboard switchboard-testing)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/${pc}.pc.in
                 ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endforeach()
