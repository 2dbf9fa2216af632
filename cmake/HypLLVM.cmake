# Finds LLVM/MLIR 22 (Debian) and makes every MLIR/LLVM library we link static.
#
# Why: Debian's MLIR CMake targets name the shared `LLVM` (libLLVM.so, 150 MB,
# dragging z3/icu/xml2). The GPU machine has no LLVM at all, so libhypc.so,
# libhyprt.so and the tools must carry what they use. We rewrite the `LLVM`
# link item of every imported target to the static component archives
# (HYP_LLVM_STATIC_LIBS), which are built -fPIC by Debian.
find_package(MLIR REQUIRED CONFIG PATHS ${HYP_LLVM_DIR}/lib/cmake/mlir NO_DEFAULT_PATH)
find_package(LLVM REQUIRED CONFIG PATHS ${HYP_LLVM_DIR}/lib/cmake/llvm NO_DEFAULT_PATH)
message(STATUS "hyplora: MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
set(LLVM_LINK_LLVM_DYLIB OFF)
set(LLVM_RUNTIME_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/bin)
set(LLVM_LIBRARY_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/lib)
set(MLIR_BINARY_DIR ${CMAKE_BINARY_DIR})
include(TableGen)
include(AddLLVM)
include(AddMLIR)
include(HandleLLVMOptions)

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
# LLVMConfig gives the definitions as ONE space-separated string; passed as is
# it becomes a single bogus -D ("_GLIBCXX_USE_CXX11_ABI redefined" on every TU).
separate_arguments(HYP_LLVM_DEFINITIONS_LIST NATIVE_COMMAND "${LLVM_DEFINITIONS}")
add_definitions(${HYP_LLVM_DEFINITIONS_LIST})

set(HYP_LLVM_STATIC_LIBS
  LLVMSupport LLVMDemangle LLVMRemarks LLVMBitstreamReader LLVMTargetParser
  LLVMCore LLVMBinaryFormat)
foreach(lib ${HYP_LLVM_STATIC_LIBS})
  if(NOT TARGET hyp_static_${lib})
    add_library(hyp_static_${lib} STATIC IMPORTED GLOBAL)
    set_target_properties(hyp_static_${lib} PROPERTIES
      IMPORTED_LOCATION ${HYP_LLVM_DIR}/lib/lib${lib}.a)
  endif()
endforeach()
# One link group: the archives depend on each other cyclically.
set(HYP_LLVM_STATIC_GROUP "-Wl,--start-group")
foreach(lib ${HYP_LLVM_STATIC_LIBS})
  list(APPEND HYP_LLVM_STATIC_GROUP ${HYP_LLVM_DIR}/lib/lib${lib}.a)
endforeach()
list(APPEND HYP_LLVM_STATIC_GROUP "-Wl,--end-group" zstd z pthread dl m)

get_property(_hyp_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
foreach(tgt ${_hyp_imported})
  get_target_property(_links ${tgt} INTERFACE_LINK_LIBRARIES)
  if(_links)
    list(TRANSFORM _links REPLACE "^LLVM$" "hyp_llvm_static")
    # The MLIR libraries also name individual LLVM components (LLVMSupport, ...):
    # the static group below provides them all.
    list(FILTER _links EXCLUDE REGEX "^LLVM[A-Za-z]+$")
    set_target_properties(${tgt} PROPERTIES INTERFACE_LINK_LIBRARIES "${_links}")
  endif()
endforeach()
add_library(hyp_llvm_static INTERFACE)
target_link_libraries(hyp_llvm_static INTERFACE ${HYP_LLVM_STATIC_GROUP})

# Shared libraries we ship export only their C/C++ API: everything from MLIR
# and LLVM stays hidden, and unused sections go away.
function(hyp_make_self_contained target version_script)
  set_target_properties(${target} PROPERTIES
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE
    -Wl,--gc-sections -Wl,--exclude-libs,ALL -Wl,--version-script=${version_script}
    -static-libgcc)
endfunction()
