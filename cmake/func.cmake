# Build steps of a CANN custom operator package, written after the msOpGen "customize" template of
# CANN 8.1 (tools/op_project_templates/ascendc/customize/cmake/func.cmake). The tools are CANN's,
# used in place from ASCEND_CANN_PACKAGE_PATH (see config.cmake): op_build, and the template's
# util scripts that drive opc/ccec. Nothing of CANN is copied into this repository.

# opbuild(OPS_SRC <op_host sources> OUT_DIR <dir>)
# Runs at configure time because its outputs decide which targets exist: op_build loads a shared
# library holding every OpDef registration and writes, into OUT_DIR,
#   aclnn_<op>.{h,cpp}               the two-stage aclnn API of each OpType (-> libcust_opapi.so)
#   op_proto.{cc,h}                  the graph-mode operator prototypes (-> libcust_opsproto)
#   aic-<unit>-ops-info.ini          one per compute unit named in an OpDef's AICore().AddConfig()
function(opbuild)
  cmake_parse_arguments(OPBUILD "" "OUT_DIR" "OPS_SRC" ${ARGN})
  message(STATUS "op_build: generating the aclnn API and op proto from op_host")
  execute_process(
    COMMAND ${CMAKE_CXX_COMPILER} -fPIC -shared -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=0 ${OPBUILD_OPS_SRC}
            -I${ASCEND_CANN_PACKAGE_PATH}/include -I${CMAKE_SOURCE_DIR}/op_host -I${CMAKE_SOURCE_DIR}/op_kernel
            -L${ASCEND_CANN_PACKAGE_PATH}/lib64 -lexe_graph -lregister -ltiling_api
            -o ${OPBUILD_OUT_DIR}/libascend_all_ops.so
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE error)
  if(result)
    message(FATAL_ERROR "compiling op_host for op_build failed:\n${output}\n${error}")
  endif()
  execute_process(
    COMMAND ${ASCEND_OPBUILD} ${OPBUILD_OUT_DIR}/libascend_all_ops.so ${OPBUILD_OUT_DIR}
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE error)
  if(result)
    message(FATAL_ERROR "${ASCEND_OPBUILD} failed:\n${output}\n${error}")
  endif()
  file(GLOB aclnn_sources ${OPBUILD_OUT_DIR}/aclnn_*.cpp)
  if(NOT aclnn_sources OR NOT EXISTS ${OPBUILD_OUT_DIR}/op_proto.cc)
    message(FATAL_ERROR "op_build wrote no aclnn_*.cpp or op_proto.cc into ${OPBUILD_OUT_DIR}:\n${output}\n${error}")
  endif()
  foreach(unit ${ASCEND_COMPUTE_UNIT})
    if(NOT EXISTS ${OPBUILD_OUT_DIR}/aic-${unit}-ops-info.ini)
      message(FATAL_ERROR "op_build wrote no aic-${unit}-ops-info.ini: no OpDef in op_host calls "
                          "AICore().AddConfig(\"${unit}\"), so the package cannot be built for ${unit}.")
    endif()
  endforeach()
  # Editing op_host must regenerate all of the above.
  file(GLOB op_host_files ${CMAKE_SOURCE_DIR}/op_host/*)
  set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${op_host_files})
endfunction()

# add_ops_compile_options(<OpType|ALL> OPTIONS <compiler options...>)
# Adds options to the kernel compilation of one OpType (or all), through CANN's ascendc_gen_options.py.
function(add_ops_compile_options op_type)
  cmake_parse_arguments(OPTS "" "" "OPTIONS" ${ARGN})
  execute_process(
    COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/ascendc_gen_options.py
            ${CUSTOM_COMPILE_OPTIONS} ${op_type} ${OPTS_OPTIONS}
    RESULT_VARIABLE result
    ERROR_VARIABLE error)
  if(result)
    message(FATAL_ERROR "ascendc_gen_options.py failed for ${op_type}: ${error}")
  endif()
endfunction()

# add_kernels_compile()
# Defines target `binary`: every OpType listed in the ops-info ini of every compute unit is
# compiled from op_kernel/<op_file>.cpp by CANN's ascendc_compile_kernel.py (which runs opc, and
# through it ccec, once per tiling key), then the kernel configs are written. Also installs the
# ops-info json, the kernels, their configs and (source package) the kernel sources.
function(add_kernels_compile)
  set(kernel_out ${CMAKE_CURRENT_BINARY_DIR}/binary)
  set(tbe_dir ${VENDOR_INSTALL_DIR}/op_impl/ai_core/tbe)
  set(dynamic_dir "")
  # The kernel script compares this flag with the string "False".
  set(enable_binary False)
  if(ENABLE_BINARY_PACKAGE)
    set(enable_binary True)
  endif()
  if(ENABLE_SOURCE_PACKAGE)
    # The generated <OpType>.py wrappers land here during the build; the sources sit beside them
    # because those wrappers look for the kernel file in their own directory.
    set(dynamic_dir ${kernel_out}/dynamic)
    file(MAKE_DIRECTORY ${dynamic_dir})
    install(DIRECTORY ${dynamic_dir}/ DESTINATION ${tbe_dir}/${vendor_name}_impl/dynamic)
    install(DIRECTORY ${CMAKE_SOURCE_DIR}/op_kernel/ DESTINATION ${tbe_dir}/${vendor_name}_impl/dynamic
            PATTERN CMakeLists.txt EXCLUDE)
  endif()

  add_custom_target(binary)
  foreach(unit ${ASCEND_COMPUTE_UNIT})
    set(ops_info_ini ${ASCEND_AUTOGEN_PATH}/aic-${unit}-ops-info.ini)
    set(ops_info_json ${CMAKE_CURRENT_BINARY_DIR}/tbe/op_info_cfg/ai_core/${unit}/aic-${unit}-ops-info.json)
    add_custom_command(OUTPUT ${ops_info_json}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/tbe/op_info_cfg/ai_core/${unit}
      COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/parse_ini_to_json.py ${ops_info_ini} ${ops_info_json}
      DEPENDS ${ops_info_ini})
    add_custom_target(ops_info_gen_${unit} ALL DEPENDS ${ops_info_json})
    install(FILES ${ops_info_json} DESTINATION ${tbe_dir}/config/${unit})

    if(ENABLE_BINARY_PACKAGE)
      # binary_info_config.json and one <op_file>.json per OpType, moved under config/<unit>/.
      add_custom_target(kernel_configs_${unit}
        COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/insert_simplified_keys.py -p ${kernel_out}/${unit}
        COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/ascendc_ops_config.py -p ${kernel_out}/${unit} -s ${unit}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${kernel_out}/config/${unit}
        COMMAND sh -c "mv ${kernel_out}/${unit}/*.json ${kernel_out}/config/${unit}/")
      install(DIRECTORY ${kernel_out}/${unit}/ DESTINATION ${tbe_dir}/kernel/${unit})
    else()
      add_custom_target(kernel_configs_${unit})
    endif()
    add_dependencies(binary kernel_configs_${unit})

    # "OpType-op_file" per line, from the ini op_build wrote.
    execute_process(
      COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/ascendc_get_op_name.py --ini-file=${ops_info_ini}
      OUTPUT_VARIABLE type_names
      RESULT_VARIABLE result
      ERROR_VARIABLE error)
    if(result)
      message(FATAL_ERROR "ascendc_get_op_name.py failed on ${ops_info_ini}: ${error}")
    endif()
    string(REPLACE "\n" ";" type_names "${type_names}")
    foreach(type_name IN LISTS type_names)
      if(type_name STREQUAL "")
        continue()
      endif()
      string(REPLACE "-" ";" parts ${type_name})
      list(GET parts 0 op_type)
      list(GET parts 1 op_file)
      if(NOT EXISTS ${CMAKE_SOURCE_DIR}/op_kernel/${op_file}.cpp)
        message(FATAL_ERROR "OpType ${op_type} needs its kernel in op_kernel/${op_file}.cpp")
      endif()
      set(target ${op_type}_${unit})
      # The script refuses to start if its work directory survived an earlier failed run.
      add_custom_target(${target}
        COMMAND ${CMAKE_COMMAND} -E rm -rf ${CMAKE_CURRENT_BINARY_DIR}/${target}
        COMMAND ${ASCEND_PYTHON_EXECUTABLE} ${ASCEND_OPP_UTIL_DIR}/ascendc_compile_kernel.py
                --op-name=${op_type}
                --src-file=${CMAKE_SOURCE_DIR}/op_kernel/${op_file}.cpp
                --compute-unit=${unit}
                --compile-options=
                --debug-config=
                --config-ini=${ops_info_ini}
                --tiling-lib=$<TARGET_FILE:cust_optiling>
                --output-path=${kernel_out}
                --dynamic-dir=${dynamic_dir}
                --enable-binary=${enable_binary}
                --json-file=${ops_info_json}
                --build-tool=$(MAKE)
        WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
      add_dependencies(${target} cust_optiling ops_info_gen_${unit})
      add_dependencies(kernel_configs_${unit} ${target})
    endforeach()
  endforeach()
  if(ENABLE_BINARY_PACKAGE)
    install(DIRECTORY ${kernel_out}/config/ DESTINATION ${tbe_dir}/kernel/config)
  endif()

  # npu_supported_ops.json lists the OpTypes for the framework adapters.
  set(supported_ops_dir ${CMAKE_CURRENT_BINARY_DIR}/tbe/op_info_cfg/ai_core)
  add_custom_command(OUTPUT ${supported_ops_dir}/npu_supported_ops.json
    COMMAND ${CMAKE_COMMAND} -E make_directory ${supported_ops_dir}
    COMMAND bash ${ASCEND_OPP_UTIL_DIR}/gen_ops_filter.sh ${ASCEND_AUTOGEN_PATH} ${supported_ops_dir})
  add_custom_target(npu_supported_ops ALL DEPENDS ${supported_ops_dir}/npu_supported_ops.json)
  install(FILES ${supported_ops_dir}/npu_supported_ops.json DESTINATION ${VENDOR_INSTALL_DIR}/framework/onnx)
endfunction()

# os_arch_suffix(<var>): "<ID of /etc/os-release>_<processor>", e.g. ubuntu_aarch64, for the
# package file name (CANN names its .run packages the same way).
function(os_arch_suffix var)
  set(os_id linux)
  if(EXISTS /etc/os-release)
    file(STRINGS /etc/os-release id_line REGEX "^ID=")
    string(REGEX REPLACE "^ID=\"?([^\"]*)\"?$" "\\1" os_id "${id_line}")
  endif()
  set(${var} ${os_id}_${CMAKE_SYSTEM_PROCESSOR} PARENT_SCOPE)
endfunction()
