# SWITCHBOARD_SANITIZE and SWITCHBOARD_FUZZ: instrumentation for every target.
set_property(CACHE SWITCHBOARD_SANITIZE PROPERTY STRINGS OFF address thread)
string(TOLOWER "${SWITCHBOARD_SANITIZE}" switchboard_sanitize)
# UBSan checks an address build leaves out (a comma-separated list for
# -fno-sanitize=, e.g. what tools/ci/asan.sh leaves out to save compile time).
set(SWITCHBOARD_SANITIZE_SKIP "" CACHE STRING
  "UBSan checks SWITCHBOARD_SANITIZE=address leaves out (-fno-sanitize=LIST)")
if(switchboard_sanitize MATCHES "^(on|yes|true|1|address)$")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  if(SWITCHBOARD_SANITIZE_SKIP)
    add_compile_options(-fno-sanitize=${SWITCHBOARD_SANITIZE_SKIP})
  endif()
  add_link_options(-fsanitize=address,undefined)
elseif(switchboard_sanitize STREQUAL "thread")
  # Without a CAF built with -fsanitize=thread, TSan reports every message
  # hand-off as a race: see tools/ci/tsan.sh for how CI builds one.
  # GCC warns (-Wtsan) on every fence in Asio's handler invocation; TSan does
  # not model fences, but the handler queues synchronise with mutexes anyway.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer
    $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  add_link_options(-fsanitize=thread)
elseif(NOT switchboard_sanitize MATCHES "^(off|no|false|0|)$")
  message(FATAL_ERROR "SWITCHBOARD_SANITIZE=${SWITCHBOARD_SANITIZE}: expected OFF, address or thread")
endif()

if(SWITCHBOARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SWITCHBOARD_FUZZ needs clang (libFuzzer), e.g. CXX=clang++-14")
  endif()
  if(switchboard_sanitize MATCHES "^(on|yes|true|1|address|thread)$")
    message(FATAL_ERROR "SWITCHBOARD_FUZZ brings its own sanitizers: leave SWITCHBOARD_SANITIZE off")
  endif()
  # Coverage feedback and ASan+UBSan for everything the targets link (the
  # actors library above all); each target adds the fuzzer runtime itself.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
