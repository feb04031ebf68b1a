# CPack External package script: turns the staged install tree into the self-extracting .run
# (scripts/pack_run.sh).
# CPack copies each file named in CPACK_EXTERNAL_BUILT_PACKAGES to CPACK_PACKAGE_DIRECTORY.
get_filename_component(run_dir ${CPACK_TEMPORARY_DIRECTORY} DIRECTORY)
set(run_file ${run_dir}/${CPACK_PACKAGE_FILE_NAME}.run)
execute_process(
  COMMAND bash ${CPACK_DCNV3_PACK_SCRIPT} ${CPACK_TEMPORARY_DIRECTORY} ${run_file}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE error)
if(result)
  message(FATAL_ERROR "packing ${CPACK_PACKAGE_FILE_NAME} failed:\n${output}\n${error}")
endif()
set(CPACK_EXTERNAL_BUILT_PACKAGES ${run_file})
