# The public headers, and an include tree that holds only them: a project
# that builds switchboard as a guest (add_subdirectory) gets this tree on
# its include path, not actors/ and net/ with their internal headers.
set(switchboard_public_headers
  actors/switchboard/cluster.hpp
  actors/switchboard/history_store.hpp
  actors/switchboard/hub.hpp
  actors/switchboard/log_text.hpp
  actors/switchboard/messages.hpp
  actors/switchboard/settings.hpp
  actors/switchboard/stop_mode.hpp
  net/switchboard/admission_limits.hpp
  net/switchboard/api_keys.hpp
  net/switchboard/jwt.hpp
  net/switchboard/log_format.hpp
  net/switchboard/node.hpp
  net/switchboard/node_options.hpp
  net/switchboard/stop_signals.hpp)
set(switchboard_testing_headers actors/switchboard/testing.hpp)
set(switchboard_public_include ${CMAKE_CURRENT_BINARY_DIR}/include)
file(MAKE_DIRECTORY ${switchboard_public_include}/switchboard)
foreach(header IN LISTS switchboard_public_headers switchboard_testing_headers)
  get_filename_component(name ${header} NAME)
  # Symbolic links: the sources stay the ones edited and shown in errors.
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR}/${header}
       ${switchboard_public_include}/switchboard/${name} SYMBOLIC)
endforeach()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/version.hpp.in
               ${switchboard_public_include}/switchboard/version.hpp @ONLY)
