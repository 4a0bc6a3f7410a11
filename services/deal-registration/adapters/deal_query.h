#pragma once

// The subset of AIP-160 that ListDeals understands, parsed into the domain's DealQuery:
// conjunctions (AND) of
//   partner_id = "p-1"                         (quotes optional)
//   state = DEAL_STATE_APPROVED                (or the short name APPROVED; several state terms
//                                               joined by OR inside one term are allowed:
//                                               state = SUBMITTED OR state = UNDER_REVIEW)
//   has_conflict = true | false
//   protection.expire_time < "2026-07-01T00:00:00Z"   (approved deals expiring before)
// Anything else is INVALID_ARGUMENT naming `filter`, rather than a filter silently ignored.
// The handler applies the common length limit (common/server/limits.h) before parsing.
//
// Thread safety: pure function.

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "services/deal-registration/domain/deal_book.h"

namespace prm::deal {

// The query's filter fields; vendor_id, page_size and page_token are left for the caller.
absl::StatusOr<DealQuery> ParseDealFilter(absl::string_view filter);

}  // namespace prm::deal
