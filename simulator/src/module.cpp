// The dcnv3_ascend.sim._sim Python module: SoC table, the self-test entry point and the DCNv3
// kernels. Broken hardware rules surface as _sim.SimulatorError ("[rule] core N: ..."); bad
// arguments as ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "dcnv3_bindings.h"
#include "selftest_runner.h"
#include "sim/errors.h"
#include "soc_table.h"
#include "stats_dict.h"

namespace py = pybind11;

namespace {

sim::HostBuffer AsHostBuffer(py::array& a) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error("self-test buffers must be C-contiguous numpy arrays");
  if (!a.writeable()) throw py::value_error("self-test buffers must be writeable");
  return {a.mutable_data(), static_cast<uint64_t>(a.nbytes())};
}

}  // namespace

PYBIND11_MODULE(_sim, m) {
  m.doc() = "AscendC CPU simulator running this project's op_kernel sources unchanged";
  py::register_exception<sim::SimError>(m, "SimulatorError", PyExc_RuntimeError);

  m.def(
      "socs",
      [] {
        py::dict d;
        for (const sim::SocConfig& s : sim::SocTable())
          d[s.name.c_str()] = py::make_tuple(s.vector_core_num, s.ub_bytes);
        return d;
      },
      "SoC name -> (vector_core_num, ub_bytes)");

  m.def(
      "soc_table",
      [] {
        py::list rows;
        for (const sim::SocConfig& s : sim::SocTable()) {
          py::dict d;
          d["name"] = s.name;
          d["compute_unit"] = s.compute_unit;
          d["vector_core_num"] = s.vector_core_num;
          d["ub_bytes"] = s.ub_bytes;
          d["clock_mhz"] = s.clock_mhz;
          rows.append(d);
        }
        return rows;
      },
      "the SoC table (op_host/dcnv3_soc_table.h plus the simulator's debug configurations) as dicts");

  m.def("selftest_names", &sim::SelftestNames, "names of the compiled-in self-test kernels");

  m.def(
      "run_selftest",
      [](const std::string& name, std::vector<py::array> buffers, std::vector<int64_t> params, int64_t block_dim,
         const std::string& soc, uint64_t tiling_key, bool check_pipe_hazards, bool strict) {
        std::vector<sim::HostBuffer> host;
        for (py::array& a : buffers) host.push_back(AsHostBuffer(a));
        sim::SelftestOptions options{block_dim, soc, tiling_key, check_pipe_hazards, strict};
        sim::LaunchResult result;
        {
          py::gil_scoped_release release;
          result = sim::RunSelftest(name, host, params, options);
        }
        py::dict stats = sim::StatsToDict(result.per_core, block_dim, tiling_key);
        stats["warnings"] = result.warnings;
        return stats;
      },
      py::arg("name"), py::arg("buffers"), py::arg("params") = std::vector<int64_t>{}, py::arg("block_dim") = 1,
      py::arg("soc") = "Ascend910B3", py::arg("tiling_key") = 0, py::arg("check_pipe_hazards") = true,
      py::arg("strict") = true,
      "Runs self-test kernel `name` on up to 4 numpy buffers (modified in place); returns the statistics and, "
      "under 'warnings', the rules reported as warnings (lenient mode, buffer positions)");

  dcnv3_sim::Bind(m);
}
