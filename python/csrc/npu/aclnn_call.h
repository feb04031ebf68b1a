// Calling the aclnn API of a CANN custom operator package from a torch_npu kernel.
//
// torch_npu's op-plugin headers provide EXEC_NPU_CMD_EXT(aclnnX, args...): it looks up
// aclnnXGetWorkspaceSize/aclnnX in the custom packages (ASCEND_CUSTOM_OPP_PATH entries, then the
// vendors listed in $ASCEND_OPP_PATH/vendors/config.ini) and in libopapi.so, converts tensors to
// aclTensor, allocates the workspace and launches on the current NPU stream. If the symbols are
// missing it fails with a message that does not say which package to install; RequireAclnnApi
// checks first and says.
#pragma once

#include <torch/version.h>

// op-plugin's headers choose code by torch version through CURRENT_VERSION (V2R<minor> = minor - 1,
// see op_plugin/utils/Version.h). op-plugin's own build defines it; an extension must do so too.
#ifndef CURRENT_VERSION
#if TORCH_VERSION_MAJOR != 2
#error "the NPU adapter supports torch 2.x (torch_npu's op-plugin versions are V2R<minor>)"
#endif
#define CURRENT_VERSION (TORCH_VERSION_MINOR - 1)
#endif

#include "op_plugin/include/npu_cpp_extension.h"

namespace dcnv3_npu {

// Returns true, or throws naming the package to build and install, unless aclnn<op>GetWorkspaceSize
// and aclnn<op> can be found by EXEC_NPU_CMD_EXT. Callers keep the result in a function-local
// static: each lookup resolves and dlopens every custom package's library again (EXEC_NPU_CMD_EXT
// caches its own addresses the same way), and a throw leaves the static unset for the next call.
inline bool RequireAclnnApi(const char* op) {
  const std::string api = std::string("aclnn") + op;
  const std::string workspace_api = api + "GetWorkspaceSize";
  const bool found = GetOpApiFuncAddr(api.c_str()) != nullptr && GetOpApiFuncAddr(workspace_api.c_str()) != nullptr;
  TORCH_CHECK(found, workspace_api, " / ", api,
              " not found: the DCNv3 custom operator package (op_api/lib/libcust_opapi.so of "
              "custom_opp_<os>_<arch>.run; vendor 'dcnv3' unless built with --vendor) is not installed or not "
              "visible to this process. Build it with scripts/build.sh, install it with "
              "./build_out/custom_opp_<os>_<arch>.run --install-path=<dir>, then "
              "`source <dir>/vendors/<vendor>/bin/set_env.bash` before starting Python (torch_npu reads "
              "ASCEND_CUSTOM_OPP_PATH when it is imported). See COMPILE_GUIDE.md, sections 'Build', 'Install' "
              "and 'Troubleshooting'.");
  return true;
}

}  // namespace dcnv3_npu
