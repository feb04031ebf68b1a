// Every tiling field of Dcnv3 and Dcnv3Grad, listed once. DCNV3_TILING_FIELDS(X) expands X(type, name)
// per field; it generates both the plain struct dcnv3::TilingData (dcnv3_tiling_plan.h, used by the
// pure-C++ planner, its tests and the simulator) and CANN's BEGIN_TILING_DATA_DEF class
// (dcnv3_tiling.h). Each field is 8 bytes, or two 4-byte fields side by side, so the plain struct's
// layout equals CANN's serialisation and the kernel reads the same bytes either way.
#pragma once

#include "dcnv3_attr_list.h"

// The attributes become fields of their own type (dcnv3_attr_list.h); offset_scale, the one
// 4-byte field, gets a 4-byte pad after it so that every later field stays 8-byte aligned.
#define DCNV3_TILING_ATTR(X, index, name, kind) DCNV3_TILING_ATTR_##kind(X, name)
#define DCNV3_TILING_ATTR_Int(X, name) X(int64_t, name)
#define DCNV3_TILING_ATTR_Float(X, name) X(float, name) X(float, name##_pad)

// clang-format off: one line per group of related fields reads better than one field per line
#define DCNV3_TILING_FIELDS(X)                                                                        \
  /* problem: sizes, then every attribute in schema order */                                          \
  X(int64_t, batch) X(int64_t, height_in) X(int64_t, width_in) X(int64_t, height_out)                 \
  X(int64_t, width_out) X(int64_t, points)                                                            \
  DCNV3_ATTRS_WITH(DCNV3_TILING_ATTR, X, )                                                            \
  /* split of the N*Ho*Wo*G pixel-groups (position x group) over the cores: contiguous ranges of */   \
  /* split units (split_unit pixel-groups: G = whole positions, or 1), average + remainder, of the */ \
  /* pixel-groups in order (n, ho, wo, g), or (n, g, ho, wo) when group_major is 1 */                  \
  X(int64_t, group_major)                                                                              \
  X(int64_t, split_unit) X(int64_t, units_per_core) X(int64_t, units_remainder)                        \
  /* tile capacity: tile_positions positions of one output row x tile_groups groups */                \
  X(int64_t, tile_positions) X(int64_t, tile_groups)                                                  \
  X(int64_t, channels_pad) /* group_channels rounded up to 32 bytes of the input dtype */             \
  X(int64_t, fetch_mode)   /* dcnv3_ub::FetchMode: how the 4 bilinear corners reach UB */             \
  X(int64_t, win_rows) X(int64_t, win_cols) /* window mode: input window capacity in pixels */        \
  X(int64_t, win_cols_base) /* window columns of a one-position tile before clipping to the image */
// clang-format on
