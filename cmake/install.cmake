# `cmake --install`: the public headers under include/switchboard/, the two
# libraries, the CLI, a CMake package (find_package(switchboard CONFIG)) and
# pkg-config files, and the examples under share/switchboard/examples/.
# Listener, sessions, corking layer and node internals are
# not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(switchboard_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/switchboard)

install(TARGETS switchboard_lib switchboard_testing EXPORT switchboard_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${switchboard_public_headers} ${switchboard_testing_headers}
              ${switchboard_public_include}/switchboard/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/switchboard)
if(TARGET switchboard)
  install(TARGETS switchboard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# Runnable examples, each a project of its own that builds against the
# installed package (tests/consumer/run.sh builds and runs them).
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/switchboard/examples)

install(EXPORT switchboard_targets NAMESPACE switchboard::
  FILE switchboardTargets.cmake DESTINATION ${switchboard_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/switchboardConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfig.cmake
  INSTALL_DESTINATION ${switchboard_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/switchboardConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/switchboardConfigVersion.cmake
              ${CMAKE_CURRENT_SOURCE_DIR}/cmake/caf.cmake
  DESTINATION ${switchboard_cmake_dir})

# pkg-config, for builds without CMake. CAF ships no .pc file, so its
# libraries are named directly. The files find the prefix from their own
# place (${pcfiledir}), so an installed tree can move.
file(RELATIVE_PATH switchboard_pc_to_prefix
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
foreach(pc switchboard switchboard-testing)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/${pc}.pc.in
                 ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
