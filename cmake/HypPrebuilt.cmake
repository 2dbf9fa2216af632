# GPU machine: no MLIR/LLVM there, so the compiler (libhypc.so) and runtime
# (libhyprt.so) built on the dev machine are carried in HYP_PREBUILT_DIR with
# their headers, and imported under the same target names the in-tree build uses.
foreach(lib hypc hyprt)
  if(NOT EXISTS ${HYP_PREBUILT_DIR}/lib${lib}.so)
    message(FATAL_ERROR "HYP_PREBUILT_DIR=${HYP_PREBUILT_DIR} has no lib${lib}.so")
  endif()
  add_library(${lib} SHARED IMPORTED GLOBAL)
  set_target_properties(${lib} PROPERTIES IMPORTED_LOCATION ${HYP_PREBUILT_DIR}/lib${lib}.so)
endforeach()
target_include_directories(hypc INTERFACE ${CMAKE_SOURCE_DIR}/frontend/capi)
target_include_directories(hyprt INTERFACE ${CMAKE_SOURCE_DIR}/runtime/include)
