// Python bindings of the DCNv3 harness (dcnv3_forward, dcnv3_backward, plan_forward, plan_backward).
#pragma once

#include <pybind11/pybind11.h>

namespace dcnv3_sim {

void Bind(pybind11::module_& m);

}  // namespace dcnv3_sim
