# The compiler's own version is part of every kernel cache key (Triton's stale
# cache bug: a compiler change that kept old cubins). We take the project
# version plus the git commit when there is one, so a rebuilt compiler never
# reuses kernels produced by another build.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE HYP_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET RESULT_VARIABLE _hyp_git_rc)
if(NOT _hyp_git_rc EQUAL 0 OR NOT HYP_GIT_COMMIT)
  set(HYP_GIT_COMMIT "nogit")
endif()
set(HYP_VERSION_STRING "${PROJECT_VERSION}+${HYP_GIT_COMMIT}")
