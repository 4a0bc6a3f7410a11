#pragma once

// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr<T>, which Debian's
// Abseil 20220623 does not ship.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PRM_STATUS_CONCAT_INNER_(a, b) a##b
#define PRM_STATUS_CONCAT_(a, b) PRM_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    if (::absl::Status prm_status_ = (expr); !prm_status_.ok()) { \
      return prm_status_;                                  \
    }                                                      \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr expression, returns its status when not OK,
// otherwise moves the value into `lhs` (which may be a declaration: `auto x`, `const Foo& y`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  PRM_ASSIGN_OR_RETURN_IMPL_(PRM_STATUS_CONCAT_(prm_statusor_, __LINE__), lhs, expr)

#define PRM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = *std::move(statusor)
