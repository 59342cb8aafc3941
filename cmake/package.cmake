# Debian packages (CPack's DEB generator), one per install component:
#   switchboard         (component server) the CLI node as a systemd service
#   libswitchboard-dev  (component dev)    headers, static libraries, the CMake
#                                          package and the pkg-config files
# tools/package.sh builds the target switchboard_deb_files (man page,
# changelog, the packaged config), then runs cpack; docs/operations.md, "The
# Debian package", says what the service package installs and why.
#
# The system files (the unit, /etc/switchboard/) have absolute destinations
# and are EXCLUDE_FROM_ALL: only a component install (what CPack does) puts
# them in place, so `cmake --install build --prefix DIR` never writes to /etc.

# Runtime dependencies the binary's ELF references do not show (dpkg-shlibdeps
# finds the linked libraries: CAF, Boost.JSON, fmt, spdlog, OpenSSL, zlib).
# A library linked into the binary needs nothing here; one the node needs
# some other way (dlopen, a helper program) is appended, in Debian's
# Depends syntax:  list(APPEND SWITCHBOARD_DEB_RUNTIME_DEPENDS "foo (>= 1.2)")
# adduser: postinst makes the system user.
set(SWITCHBOARD_DEB_RUNTIME_DEPENDS adduser)
# What find_package(switchboard) and pkg-config --libs switchboard need
# (cmake/switchboardConfig.cmake.in, cmake/switchboard.pc.in). The libraries
# are static, so a library switchboard_lib links (say hiredis) is linked by
# every consumer too: its -dev package goes here, next to its find_dependency
# and its -l flag in those two files.
set(SWITCHBOARD_DEB_DEV_DEPENDS libcaf-dev libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev "libssl-dev (>= 3)" zlib1g-dev libhiredis-dev pkg-config)

set(switchboard_pkg_src ${CMAKE_CURRENT_SOURCE_DIR}/packaging)
set(switchboard_pkg_out ${CMAKE_CURRENT_BINARY_DIR}/packaging)
# Debian's place for units on bookworm (systemd.pc's systemdsystemunitdir).
set(switchboard_unit_dir /lib/systemd/system)

# -- generated files ---------------------------------------------------------------
find_program(SWITCHBOARD_HELP2MAN help2man)
if(SWITCHBOARD_HELP2MAN)
  set(switchboard_help2man ${SWITCHBOARD_HELP2MAN})
else()
  # Configuring needs no help2man; building the package's files does.
  set(switchboard_help2man ${CMAKE_COMMAND} -E echo "help2man not found (apt-get install help2man)"
      COMMAND ${CMAKE_COMMAND} -E false)
endif()
find_program(SWITCHBOARD_GZIP gzip REQUIRED)
set(switchboard_man ${switchboard_pkg_out}/switchboard.1.gz)
set(switchboard_changelog ${switchboard_pkg_out}/changelog.Debian.gz)
set(switchboard_conffile ${switchboard_pkg_out}/switchboard.conf)
add_custom_command(OUTPUT ${switchboard_man}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${switchboard_pkg_out}
  COMMAND ${switchboard_help2man}
          --no-info --section=1 "--name=WebSocket push server"
          --include=${switchboard_pkg_src}/switchboard.h2m
          --output=${switchboard_pkg_out}/switchboard.1 $<TARGET_FILE:switchboard>
  COMMAND ${SWITCHBOARD_GZIP} -9nf ${switchboard_pkg_out}/switchboard.1
  DEPENDS switchboard ${switchboard_pkg_src}/switchboard.h2m
  COMMENT "help2man: switchboard.1 from switchboard --help" VERBATIM)
add_custom_command(OUTPUT ${switchboard_changelog}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${switchboard_pkg_out}
  COMMAND ${SWITCHBOARD_GZIP} -9nc ${switchboard_pkg_src}/changelog > ${switchboard_changelog}
  DEPENDS ${switchboard_pkg_src}/changelog VERBATIM)
# The conffile: the repository's example (every option at its default) under a
# header that says where it is and how it is read.
add_custom_command(OUTPUT ${switchboard_conffile}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${switchboard_pkg_out}
  COMMAND ${CMAKE_COMMAND} -E cat ${switchboard_pkg_src}/conf-header
          ${CMAKE_CURRENT_SOURCE_DIR}/switchboard.conf.example > ${switchboard_conffile}
  DEPENDS ${switchboard_pkg_src}/conf-header ${CMAKE_CURRENT_SOURCE_DIR}/switchboard.conf.example
  VERBATIM)
add_custom_target(switchboard_deb_files
  DEPENDS ${switchboard_man} ${switchboard_changelog} ${switchboard_conffile})

# -- the service package's files -------------------------------------------------------
install(FILES ${switchboard_pkg_src}/switchboard.service
  DESTINATION ${switchboard_unit_dir} COMPONENT server EXCLUDE_FROM_ALL)
# 0640: the file may hold secrets (jwt-secret, api-key, admin-password);
# postinst gives it to group switchboard (dpkg-statoverride).
install(FILES ${switchboard_conffile} DESTINATION /etc/switchboard
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${switchboard_man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
  COMPONENT server EXCLUDE_FROM_ALL)
foreach(pkg switchboard libswitchboard-dev)
  if(pkg STREQUAL switchboard)
    set(component server)
  else()
    set(component dev)
  endif()
  install(FILES ${switchboard_pkg_src}/copyright ${switchboard_changelog}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${component} EXCLUDE_FROM_ALL)
  # Each override says why (lintian's warnings are fixed otherwise).
  install(FILES ${switchboard_pkg_src}/lintian/${pkg}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

# -- CPack ---------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VENDOR "switchboard maintainers")
set(CPACK_PACKAGE_CONTACT
  "switchboard maintainers <maintainers@users.noreply.r-seed-cd496a99.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server dev)
# switchboard_0.3.0-1_amd64.deb: the Debian revision of packaging/changelog.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME switchboard)
set(CPACK_DEBIAN_SERVER_PACKAGE_SHLIBDEPS ON)
list(JOIN SWITCHBOARD_DEB_RUNTIME_DEPENDS ", " CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS)
# Each package's first description line is its synopsis. CPack would put the
# project's DESCRIPTION in front of it unless the summary is CPack's own
# default text, which it then leaves out. It indents the rest and writes " ."
# for an empty line.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_NAME} built using CMake")
set(CPACK_DEBIAN_SERVER_DESCRIPTION "WebSocket push server (systemd service)
switchboard is a WebSocket push server: clients subscribe to topics and
receive what backends publish, with history, recovery, presence, JWT
authentication, TLS and clustering.

This package runs the node as switchboard.service, as the system user
switchboard, configured by /etc/switchboard/switchboard.conf (loopback
only until changed).")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${switchboard_pkg_src}/deb/conffiles ${switchboard_pkg_src}/deb/postinst
  ${switchboard_pkg_src}/deb/prerm ${switchboard_pkg_src}/deb/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libswitchboard-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
list(JOIN SWITCHBOARD_DEB_DEV_DEPENDS ", " CPACK_DEBIAN_DEV_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_DEV_DESCRIPTION "WebSocket push server library for CAF applications
switchboard is a WebSocket push server built on CAF (actors) and
Boost.Beast. This package holds its library for C++ applications that run
a node inside their own CAF actor system: the headers, the static libraries
switchboard and switchboard_testing, the CMake package
(find_package(switchboard)), pkg-config files and runnable examples.")

include(CPack)
