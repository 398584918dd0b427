# Small helpers shared by every module's CMakeLists.txt.

# Compile options every distclip target gets.
function(distclip_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(DISTCLIP_NATIVE_ARCH)
    target_compile_options(${target} PUBLIC -march=native)
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
