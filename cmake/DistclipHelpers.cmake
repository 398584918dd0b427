# Small helpers shared by every module's CMakeLists.txt.

# Compile options every distclip target gets.
function(distclip_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(DISTCLIP_NATIVE_ARCH)
    target_compile_options(${target} PUBLIC -march=native)
  endif()
  if(DISTCLIP_SANITIZE)
    # Frame pointers for the reports' stacks; an undefined-behaviour finding
    # aborts, so it fails its test instead of printing and going on. Public,
    # compile and link alike: whatever uses an instrumented library, an
    # installed consumer included, needs the run-time library, and must be
    # compiled the same way because headers change with the sanitizer
    # (Eigen allocates its own aligned blocks under AddressSanitizer, so a
    # vector made in the library and freed in an uninstrumented caller is a
    # bad free).
    target_compile_options(${target} PUBLIC
      -fsanitize=${DISTCLIP_SANITIZE} -fno-omit-frame-pointer)
    if(DISTCLIP_SANITIZE MATCHES "undefined")
      target_compile_options(${target} PUBLIC -fno-sanitize-recover=undefined)
      # GCC leaves a float converted to an integer it does not fit out of
      # "undefined" (clang has it in): found by the fuzzer in toml++.
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        target_compile_options(${target} PUBLIC
          -fsanitize=float-cast-overflow -fno-sanitize-recover=float-cast-overflow)
        target_link_options(${target} PUBLIC -fsanitize=float-cast-overflow)
      endif()
    endif()
    target_link_options(${target} PUBLIC -fsanitize=${DISTCLIP_SANITIZE})
  endif()
endfunction()

# distclip_module(NAME SOURCES ... DEPENDS ...): one static library per folder,
# public headers under <folder>/include, namespaced alias distclip::<name>.
function(distclip_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(distclip_${name} ${ARG_SOURCES})
  add_library(distclip::${name} ALIAS distclip_${name})
  set_target_properties(distclip_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(distclip_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(distclip_${name} PUBLIC cxx_std_20)
  target_link_libraries(distclip_${name} PUBLIC ${ARG_DEPENDS})
  distclip_target_options(distclip_${name})
endfunction()
