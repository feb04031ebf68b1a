# Checks the build configuration and derives the paths of the CANN tools the build runs.
#
# Every setting comes from the presets (CMakePresets.json, plus CMakeUserPresets.json written by
# scripts/build.sh): nothing is defaulted here, so a configure without a preset fails loudly
# instead of building for a SoC or vendor nobody chose.

foreach(setting ASCEND_CANN_PACKAGE_PATH ASCEND_COMPUTE_UNIT vendor_name ASCEND_PYTHON_EXECUTABLE
                ENABLE_SOURCE_PACKAGE ENABLE_BINARY_PACKAGE CMAKE_BUILD_TYPE)
  if(NOT DEFINED ${setting} OR "${${setting}}" STREQUAL "")
    message(FATAL_ERROR "${setting} is not set. Configure with `cmake --preset default` "
                        "(CMakePresets.json) or run scripts/build.sh, which writes CMakeUserPresets.json.")
  endif()
endforeach()

if(NOT vendor_name MATCHES "^[A-Za-z0-9_]+$")
  message(FATAL_ERROR "vendor_name must match [A-Za-z0-9_]+, got '${vendor_name}'")
endif()

# The msOpGen tools are used in place, from the CANN install: op_build generates the aclnn API,
# the op proto and the ops-info ini from op_host; the template's util scripts drive opc/ccec to
# compile op_kernel per compute unit and write the kernel configs.
set(ASCEND_OPBUILD ${ASCEND_CANN_PACKAGE_PATH}/toolkit/tools/opbuild/op_build)
set(ASCEND_OPP_UTIL_DIR ${ASCEND_CANN_PACKAGE_PATH}/tools/op_project_templates/ascendc/customize/cmake/util)
foreach(tool ${ASCEND_OPBUILD} ${ASCEND_OPP_UTIL_DIR}/ascendc_compile_kernel.py)
  if(NOT EXISTS ${tool})
    message(FATAL_ERROR "${tool} not found: ASCEND_CANN_PACKAGE_PATH=${ASCEND_CANN_PACKAGE_PATH} is not a "
                        "CANN 8.x toolkit (see COMPILE_GUIDE.md, section 'Prerequisites').")
  endif()
endforeach()

# The kernel build scripts call opc and bisheng through PATH and import CANN's python packages, so
# the toolkit environment must be loaded (CANN's set_env.sh; scripts/build.sh loads it).
foreach(tool opc bisheng)
  find_program(ASCEND_${tool}_PROGRAM ${tool})
  if(NOT ASCEND_${tool}_PROGRAM)
    message(FATAL_ERROR "${tool} is not on PATH: run `source <CANN install>/ascend-toolkit/set_env.sh` "
                        "before configuring (scripts/build.sh does this for you).")
  endif()
endforeach()

set(ASCEND_AUTOGEN_PATH ${CMAKE_BINARY_DIR}/autogen)
# Per-op compiler options (ascendc_gen_options.py appends to these; the kernel scripts read them).
set(CUSTOM_COMPILE_OPTIONS ${ASCEND_AUTOGEN_PATH}/custom_compile_options.ini)
set(CUSTOM_OPC_OPTIONS ${ASCEND_AUTOGEN_PATH}/custom_opc_options.ini)
file(MAKE_DIRECTORY ${ASCEND_AUTOGEN_PATH})
file(WRITE ${CUSTOM_COMPILE_OPTIONS} "")
file(WRITE ${CUSTOM_OPC_OPTIONS} "")

# Where everything lands inside the package (and, after install.sh, inside opp/vendors/).
set(VENDOR_INSTALL_DIR packages/vendors/${vendor_name})
