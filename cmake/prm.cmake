# Small helpers shared by every CMakeLists.txt in the tree.
include(GoogleTest)

# prm_service(NAME <binary> SOURCES <files...> LIBS <targets...>)
# A service binary: with tcmalloc as its allocator when PRM_TCMALLOC is on (it replaces malloc
# by being loaded: Debian's linker keeps a library nothing names, as --no-as-needed does).
function(prm_service)
  cmake_parse_arguments(S "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${S_NAME} ${S_SOURCES})
  target_link_libraries(${S_NAME} PRIVATE ${S_LIBS})
  if(PRM_TCMALLOC)
    target_link_libraries(${S_NAME} PRIVATE PkgConfig::TCMALLOC)
  endif()
endfunction()

# prm_test(NAME <name> SOURCES <files...> LIBS <targets...> LABELS <labels...>)
# Builds one GoogleTest binary and registers its tests with ctest under the given labels
# (`unit` runs anywhere; `integration` needs the broker that scripts/test starts).
function(prm_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${T_NAME}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT 600)
endfunction()

# prm_proto_library(NAME <target> PROTOS <files relative to IMPORT_ROOT...>
#                   IMPORT_ROOT <dir> [GRPC] [DEPS <proto targets...>] [IMPORT_DIRS <dirs...>])
# Generates C++ (and gRPC stubs with GRPC) into the build tree, one library per proto package.
function(prm_proto_library)
  cmake_parse_arguments(P "GRPC" "NAME;IMPORT_ROOT" "PROTOS;DEPS;IMPORT_DIRS" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  set(srcs)
  set(import_flags -I${P_IMPORT_ROOT})
  foreach(dir ${P_IMPORT_DIRS})
    list(APPEND import_flags -I${dir})
  endforeach()
  foreach(proto ${P_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(gen ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(plugin_args)
    if(P_GRPC)
      list(APPEND gen ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${out}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND protobuf::protoc --cpp_out=${out} ${plugin_args} ${import_flags}
              ${P_IMPORT_ROOT}/${proto}
      DEPENDS ${P_IMPORT_ROOT}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${out}/${base}.pb.cc)
    if(P_GRPC)
      list(APPEND srcs ${out}/${base}.grpc.pb.cc)
    endif()
  endforeach()
  add_library(${P_NAME} STATIC ${srcs})
  target_include_directories(${P_NAME} PUBLIC ${out})
  target_link_libraries(${P_NAME} PUBLIC protobuf::libprotobuf ${P_DEPS})
  if(P_GRPC)
    target_link_libraries(${P_NAME} PUBLIC gRPC::grpc++)
  endif()
  target_compile_options(${P_NAME} PRIVATE -Wno-unused-parameter)
endfunction()
