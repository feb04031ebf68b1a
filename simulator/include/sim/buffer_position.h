// Which TPosition each data-movement API documents as source / destination on Atlas A2
// (asc-devkit 数据搬运 pages, "具体支持的数据通路"): DataCopy GM->VECIN, VECOUT->GM, UB->UB
// VECIN->VECCALC and VECCALC->VECOUT; DataCopyPad GM->VECIN/VECOUT and VECIN/VECOUT->GM. Every
// UB buffer is the same memory, so another position works on the hardware (production kernels
// DMA straight into VECCALC buffers); a position outside the documented data path is a warning in
// every mode (strictness.h), never an error.
#pragma once

#include <initializer_list>

#include "api_types.h"
#include "strictness.h"

namespace sim {

inline const char* PositionName(AscendC::TPosition p) {
  switch (p) {
    case AscendC::TPosition::VECIN: return "VECIN";
    case AscendC::TPosition::VECOUT: return "VECOUT";
    case AscendC::TPosition::VECCALC: return "VECCALC";
    default: return "a non-vector position";
  }
}

template <typename Tensor>
void CheckPosition(const char* op, const char* operand, const Tensor& t,
                   std::initializer_list<AscendC::TPosition> documented) {
  const auto pos = static_cast<AscendC::TPosition>(t.GetPosition());
  for (AscendC::TPosition p : documented)
    if (p == pos) return;
  std::string list;
  for (AscendC::TPosition p : documented) list += std::string(list.empty() ? "" : "/") + PositionName(p);
  Warn("buffer-position", Msg(op, ": ", operand, " is a ", PositionName(pos),
                              " tensor; the Atlas A2 data path of this "
                              "API is documented for ",
                              list, " only"));
}

}  // namespace sim
