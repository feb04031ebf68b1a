// Running a kernel source that is not part of this project (a third-party AscendC kernel, compiled
// unchanged) in the simulator. dcnv3_ascend.sim.external generates a small translation unit:
//
//   #include "sim/external_kernel.h"
//   #define SIM_TILING_STRUCT <the kernel's tiling struct>      (when it has one)
//   #include "<its op_host tiling header>"                     (BEGIN_TILING_DATA_DEF ...)
//   #include "<the kernel .cpp>"
//   SIM_EXTERNAL_KERNEL_ENTRY(&<the kernel's entry function>)
//
// (the entry is renamed by a macro around the #include, so that an extern "C" name like `hypot`
// cannot clash with the C library's)
//
// and builds it into a shared library with one C entry point, sim_external_run, which launches the
// entry function on block_dim simulated cores with the given GM buffers in argument order (the
// tiling bytes and the workspace are GM buffers like the others). The tiling macros turn the
// host-side tiling definition into the plain struct the device compiler would generate (fields in
// order, natural alignment), and GET_TILING_DATA copies the tiling bytes into it.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "kernel_operator.h"
#include "sim/launch.h"
#include "soc_table.h"

#define BEGIN_TILING_DATA_DEF(name) struct name {
// Headers write these with or without a trailing semicolon, so each ends its own declaration.
#define TILING_DATA_FIELD_DEF(type, field) type field;
#define TILING_DATA_FIELD_DEF_ARR(type, count, field) type field[count];
#define TILING_DATA_FIELD_DEF_STRUCT(type, field) type field;
#define END_TILING_DATA_DEF                                                                                            \
  }                                                                                                                    \
  ;
#define REGISTER_TILING_DATA_CLASS(op, cls)

#define GET_TILING_DATA_WITH_STRUCT(type, var, tiling)                                                                 \
  type var;                                                                                                            \
  std::memcpy(&var, tiling, sizeof(type))
#define GET_TILING_DATA(var, tiling) GET_TILING_DATA_WITH_STRUCT(SIM_TILING_STRUCT, var, tiling)

namespace optiling {}  // namespace optiling
using namespace optiling;

namespace sim {

// One launch request, filled by the Python side through ctypes (field order matters).
struct ExternalLaunch {
  int64_t arg_count;
  void** args;               // GM buffers in kernel-argument order (null for an absent one)
  const uint64_t* arg_bytes;
  const char** arg_names;
  int64_t block_dim;
  const char* soc;
  int32_t strict;
  int32_t check_pipe_hazards;
  uint64_t tiling_key;
};

inline void CopyOut(const std::string& text, char* out, uint64_t size) {
  if (size == 0) return;
  const uint64_t n = std::min<uint64_t>(text.size(), size - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

template <typename... Args, size_t... I>
void CallWithArgs(void (*fn)(Args...), void** args, std::index_sequence<I...>) {
  fn(static_cast<Args>(args[I])...);
}

// Returns 0 on success, 1 when the kernel broke a rule (error holds "[rule] core N: ..."), 2 on a
// bad request or another failure. `warnings` receives one warning per line.
template <typename... Args>
int RunExternal(void (*fn)(Args...), const ExternalLaunch& req, char* error, uint64_t error_size, char* warnings,
                uint64_t warnings_size) {
  try {
    if (req.arg_count != static_cast<int64_t>(sizeof...(Args)))
      throw std::invalid_argument(Msg("the kernel takes ", sizeof...(Args), " GM arguments, got ", req.arg_count));
    GmRegistry gm;
    for (int64_t i = 0; i < req.arg_count; ++i)
      if (req.args[i] && req.arg_bytes[i] > 0) gm.Add(req.arg_names[i], req.args[i], req.arg_bytes[i]);
    LaunchConfig cfg;
    cfg.block_dim = req.block_dim;
    cfg.soc = FindSoc(req.soc);
    cfg.tiling_key = req.tiling_key;
    cfg.strict = req.strict != 0;
    cfg.check_pipe_hazards = req.check_pipe_hazards != 0;
    const LaunchResult result =
        Launch(cfg, gm, [&] { CallWithArgs(fn, req.args, std::index_sequence_for<Args...>{}); });
    std::string text;
    for (const std::string& w : result.warnings) text += w + "\n";
    CopyOut(text, warnings, warnings_size);
    return 0;
  } catch (const SimError& e) {
    CopyOut(e.what(), error, error_size);
    return 1;
  } catch (const std::exception& e) {
    CopyOut(e.what(), error, error_size);
    return 2;
  }
}

}  // namespace sim

// `fn` is a pointer to the kernel's entry function.
#define SIM_EXTERNAL_KERNEL_ENTRY(fn)                                                                                  \
  extern "C" int sim_external_run(const ::sim::ExternalLaunch* req, char* error, uint64_t error_size, char* warnings,  \
                                  uint64_t warnings_size) {                                                            \
    return ::sim::RunExternal(fn, *req, error, error_size, warnings, warnings_size);                                   \
  }
