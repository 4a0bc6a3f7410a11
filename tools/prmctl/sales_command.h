#pragma once

// `prmctl sales publish --csv FILE`: ERP sales from a CSV file, sent to Kafka as
// prm.sales.SaleRecorded.v1 CloudEvents (SPEC §3.3), with a progress bar and a summary.
//
// The CSV (RFC 4180: comma-separated, "quoted" fields may hold commas, "" and newlines) starts
// with a header row naming its columns, in any order, case-insensitively:
//   required  vendor_id, erp_system_id, partner_external_id, erp_document_id,
//             kind (sell_in | sell_through | return), sale_time (RFC 3339 or YYYY-MM-DD = 00:00
//             UTC), currency_code, sku, product_category, quantity, amount (a decimal, e.g.
//             1234.50, in currency_code)
//   optional  returned_kind, original_erp_document_id, deal_id, customer_legal_name,
//             customer_country_code, customer_web_domain, customer_tax_id
// One row is one document line; consecutive rows of the same document (vendor_id,
// erp_system_id, erp_document_id) are the lines of one SaleRecorded event. A document with a
// bad row is skipped whole (a partial document would later make the complete one a duplicate),
// and every bad row is reported with its line number.

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

#include "prm/sales/v1/sales_events.pb.h"
#include "tools/prmctl/prmctl.h"

namespace prm::prmctl {

struct SalesDocument {
  int line = 0;  // of its first row
  sales::v1::SaleRecorded sale;
};

struct SalesCsv {
  std::vector<SalesDocument> documents;  // the good ones, in file order
  std::vector<std::string> problems;     // "line 7: quantity: …", in file order
  int skipped_documents = 0;
  std::string fatal;  // a header problem: nothing can be read
};

// `now` bounds sale_time as the consumers do: from 1990-01-01 to one day after `now`.
SalesCsv ParseSalesCsv(std::string_view text, absl::Time now);

// `sales publish …`; argv[0] is "sales".
int RunSales(int argc, const char* const* argv, const CommandContext& context);

}  // namespace prm::prmctl
