// Python side of the DCNv3 harness. Tensors arrive as C-contiguous byte arrays plus shapes (the
// Python wrapper views torch tensors, half types included, as raw bytes); outputs are returned as
// new byte arrays with their shapes.
#include "dcnv3_bindings.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dcnv3_harness.h"
#include "dcnv3_tiling_fields.h"
#include "soc_table.h"
#include "stats_dict.h"

namespace py = pybind11;

namespace dcnv3_sim {

namespace {

using Shape = std::vector<int64_t>;

dcnv3::DataType ParseDtype(const std::string& name) {
  if (name == "float32") return dcnv3::DataType::kFloat32;
  if (name == "float16") return dcnv3::DataType::kFloat16;
  if (name == "bfloat16") return dcnv3::DataType::kBFloat16;
  throw std::invalid_argument("dtype must be float32, float16 or bfloat16, got " + name);
}

// attrs: {name: value} with exactly the contract's attribute names (dcnv3::kAttrNames).
dcnv3::Attrs ParseAttrs(const py::dict& attrs) {
  if (py::len(attrs) != dcnv3::kAttrCount)
    throw std::invalid_argument("expected the " + std::to_string(dcnv3::kAttrCount) + " DCNv3 attributes, got " +
                                std::to_string(py::len(attrs)));
  dcnv3::Attrs a;
  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    const char* name = dcnv3::kAttrNames[index];
    if (!attrs.contains(name)) throw std::invalid_argument(std::string("attribute ") + name + " is missing");
    if (int64_t* field = dcnv3::IntAttrField(&a, index))
      *field = attrs[name].cast<int64_t>();
    else
      a.offset_scale = attrs[name].cast<float>();
  }
  return a;
}

Call MakeCall(const py::dict& attrs, const std::string& dtype, const std::string& soc) {
  Call call;
  call.attrs = ParseAttrs(attrs);
  call.dtype = ParseDtype(dtype);
  call.soc = sim::FindSoc(soc);
  return call;
}

HostTensor In(py::array& a, const Shape& shape) {
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument("tensors must be contiguous");
  return {a.mutable_data(), static_cast<uint64_t>(a.nbytes()), shape};
}

py::array_t<uint8_t> NewBytes(const Shape& shape, size_t elem) {
  int64_t n = static_cast<int64_t>(elem);
  for (int64_t d : shape) n *= d;
  return py::array_t<uint8_t>(n);
}

HostTensor Out(py::array_t<uint8_t>& a, const Shape& shape) {
  return {a.mutable_data(), static_cast<uint64_t>(a.nbytes()), shape};
}

// The plan plus ub_bytes, the UB the kernel will carve for this tiling (the planner's own figure).
py::dict PlanToDict(const dcnv3::TilingPlan& plan, const dcnv3::Problem& problem, const Call& call, bool backward) {
  py::dict tiling;
#define SIM_TILING_FIELD_TO_DICT(type, name) tiling[#name] = plan.data.name;
  DCNV3_TILING_FIELDS(SIM_TILING_FIELD_TO_DICT)
#undef SIM_TILING_FIELD_TO_DICT
  py::dict d;
  d["block_dim"] = plan.block_dim;
  d["tiling_key"] = plan.tiling_key;
  d["workspace_bytes"] = plan.workspace_bytes;
  d["ub_bytes"] = dcnv3::PlannedUbBytes(problem, call.dtype, plan.data, backward);
  d["tiling"] = tiling;
  return d;
}

py::dict Stats(const Result& r) { return sim::StatsToDict(r.per_core, r.plan.block_dim, r.plan.tiling_key); }

}  // namespace

void Bind(py::module_& m) {
  m.def(
      "dcnv3_forward",
      [](py::array input, Shape input_shape, py::array offset, Shape offset_shape, py::array mask, Shape mask_shape,
         py::dict attrs, const std::string& dtype, const std::string& soc) {
        const Call call = MakeCall(attrs, dtype, soc);
        const dcnv3::Problem p = Validate(input_shape, offset_shape, mask_shape, nullptr, call.attrs);
        const Shape out_shape = {p.batch, p.height_out, p.width_out, p.channels};
        py::array_t<uint8_t> output = NewBytes(out_shape, ElementSize(call.dtype));
        const HostTensor in = In(input, input_shape), off = In(offset, offset_shape), msk = In(mask, mask_shape);
        const HostTensor out = Out(output, out_shape);
        Result r;
        {
          py::gil_scoped_release release;
          r = Forward(in, off, msk, out, call);
        }
        return py::make_tuple(output, out_shape, Stats(r));
      },
      "Runs op_kernel/dcnv3.cpp; returns (output bytes, output shape, stats)");

  m.def(
      "dcnv3_backward",
      [](py::array input, Shape input_shape, py::array offset, Shape offset_shape, py::array mask, Shape mask_shape,
         py::array grad_output, Shape grad_output_shape, py::dict attrs, const std::string& dtype,
         const std::string& soc) {
        const Call call = MakeCall(attrs, dtype, soc);
        Validate(input_shape, offset_shape, mask_shape, &grad_output_shape, call.attrs);
        const size_t elem = ElementSize(call.dtype);
        // grad_input is float32 for every dtype (op_host/dcnv3_grad_outputs.h)
        py::array_t<uint8_t> gi = NewBytes(input_shape, sizeof(float)), go = NewBytes(offset_shape, elem),
                             gm = NewBytes(mask_shape, elem);
        const HostTensor in = In(input, input_shape), off = In(offset, offset_shape), msk = In(mask, mask_shape),
                         gout = In(grad_output, grad_output_shape);
        const HostTensor gi_t = Out(gi, input_shape), go_t = Out(go, offset_shape), gm_t = Out(gm, mask_shape);
        Result r;
        {
          py::gil_scoped_release release;
          r = Backward(in, off, msk, gout, gi_t, go_t, gm_t, call);
        }
        return py::make_tuple(py::make_tuple(gi, go, gm), Stats(r));
      },
      "Runs op_kernel/dcnv3_grad.cpp; returns ((grad_input as float32, grad_offset, grad_mask) bytes, stats)");

  m.def(
      "plan",
      [](bool backward, Shape input_shape, Shape offset_shape, Shape mask_shape, std::optional<Shape> grad_output_shape,
         py::dict attrs, const std::string& dtype, const std::string& soc) {
        const Call call = MakeCall(attrs, dtype, soc);
        const dcnv3::Problem p = Validate(input_shape, offset_shape, mask_shape,
                                          grad_output_shape ? &*grad_output_shape : nullptr, call.attrs);
        return PlanToDict(Plan(backward, p, call), p, call, backward);
      },
      "The host tiling plan (dcnv3::PlanTiling; backward when grad_output_shape is given) as a dict");
}

}  // namespace dcnv3_sim
