# intf_pub: compile and link settings shared by every host library of the package (op proto,
# tiling, aclnn API, ONNX plugin). CANN's host libraries are built with the pre-C++11 string ABI,
# so ours must be too; C++17 because op_host/dcnv3_contract.h uses it.

add_library(intf_pub INTERFACE)
target_compile_options(intf_pub INTERFACE
  -fPIC
  -fvisibility=hidden
  -fvisibility-inlines-hidden
  -fstack-protector-strong
  $<$<CONFIG:Release>:-O2>
  $<$<CONFIG:Debug>:-O0 -g>
  $<$<COMPILE_LANGUAGE:CXX>:-std=c++17>
)
target_compile_definitions(intf_pub INTERFACE
  _GLIBCXX_USE_CXX11_ABI=0
  $<$<CONFIG:Release>:_FORTIFY_SOURCE=2>
)
target_include_directories(intf_pub INTERFACE
  ${ASCEND_CANN_PACKAGE_PATH}/include
  ${CMAKE_SOURCE_DIR}/op_host
)
target_link_directories(intf_pub INTERFACE ${ASCEND_CANN_PACKAGE_PATH}/lib64)
target_link_options(intf_pub INTERFACE
  $<$<CONFIG:Release>:-s>
  -Wl,-z,relro
  -Wl,-z,now
  -Wl,-z,noexecstack
)
