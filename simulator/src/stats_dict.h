// Launch statistics as the Python dict the interface promises: totals (sums; ub_peak_bytes is the
// maximum over cores) plus per_core, a dict of lists with the same keys.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "sim/core_context.h"

namespace sim {

inline pybind11::dict StatsToDict(const std::vector<CoreStats>& per_core, int64_t block_dim, uint64_t tiling_key) {
  namespace py = pybind11;
  struct Field {
    const char* name;
    uint64_t CoreStats::* member;
    bool is_max;
  };
  static const Field kFields[] = {
      {"gm_read_bytes", &CoreStats::gm_read_bytes, false},
      {"gm_write_bytes", &CoreStats::gm_write_bytes, false},
      {"dma_count", &CoreStats::dma_count, false},
      {"mte2_dma_count", &CoreStats::mte2_dma_count, false},
      {"mte3_dma_count", &CoreStats::mte3_dma_count, false},
      {"atomic_dma_count", &CoreStats::atomic_dma_count, false},
      {"atomic_write_bytes", &CoreStats::atomic_write_bytes, false},
      {"gm_scalar_access_count", &CoreStats::gm_scalar_access_count, false},
      {"ub_scalar_access_count", &CoreStats::ub_scalar_access_count, false},
      {"vector_instr_count", &CoreStats::vector_instr_count, false},
      {"vector_repeat_count", &CoreStats::vector_repeat_count, false},
      {"pipe_barrier_v_count", &CoreStats::pipe_barrier_v_count, false},
      {"pipe_barrier_all_count", &CoreStats::pipe_barrier_all_count, false},
      {"ub_peak_bytes", &CoreStats::ub_peak_bytes, true},
  };
  py::dict out, cores;
  out["block_dim"] = block_dim;
  out["tiling_key"] = tiling_key;
  for (const Field& f : kFields) {
    uint64_t total = 0;
    py::list values;
    for (const CoreStats& s : per_core) {
      const uint64_t v = s.*(f.member);
      total = f.is_max ? std::max(total, v) : total + v;
      values.append(v);
    }
    out[f.name] = total;
    cores[f.name] = values;
  }
  out["per_core"] = cores;
  return out;
}

}  // namespace sim
