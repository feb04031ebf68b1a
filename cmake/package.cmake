# The .run package: CPack stages `cmake --install` output (packages/vendors/<vendor>/...) and
# cmake/pack_run.cmake wraps it, through scripts/pack_run.sh, into
# build_out/custom_opp_<os>_<arch>.run, whose installer is scripts/install.sh.

# version.info records the compiler the kernels were built with, as CANN's own packages do.
file(STRINGS ${ASCEND_CANN_PACKAGE_PATH}/compiler/version.info compiler_version_line REGEX "^Version=")
string(REGEX REPLACE "^Version=" "" compiler_version "${compiler_version_line}")
file(WRITE ${CMAKE_BINARY_DIR}/version.info "custom_opp_compiler_version=${compiler_version}\n")
install(FILES ${CMAKE_BINARY_DIR}/version.info DESTINATION ${VENDOR_INSTALL_DIR})

os_arch_suffix(package_suffix)
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_FILE_NAME custom_opp_${package_suffix})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR External)
set(CPACK_EXTERNAL_ENABLE_STAGING TRUE)
set(CPACK_EXTERNAL_PACKAGE_SCRIPT ${CMAKE_SOURCE_DIR}/cmake/pack_run.cmake)
# Read by cmake/pack_run.cmake (CPack passes CPACK_* variables on to it).
set(CPACK_DCNV3_PACK_SCRIPT ${CMAKE_SOURCE_DIR}/scripts/pack_run.sh)
include(CPack)
