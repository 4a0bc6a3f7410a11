#include "tools/prmctl/sales_command.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/config/flags.h"
#include "common/events/cloud_event.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/kafka/producer.h"
#include "tools/prmctl/command_flags.h"
#include "tools/prmctl/render.h"

namespace prm::prmctl {
namespace {

using sales::v1::SaleKind;
using sales::v1::SaleRecorded;

constexpr std::string_view kEventType = "prm.sales.SaleRecorded.v1";

constexpr const char* kRequired[] = {
    "vendor_id", "erp_system_id", "partner_external_id", "erp_document_id", "kind", "sale_time",
    "currency_code", "sku", "product_category", "quantity", "amount"};
constexpr const char* kOptional[] = {
    "returned_kind", "original_erp_document_id", "deal_id", "customer_legal_name",
    "customer_country_code", "customer_web_domain", "customer_tax_id"};

struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

// RFC 4180 records with the line each starts on; blank lines are skipped. An unterminated
// quote is reported in `error`.
std::vector<CsvRecord> SplitCsv(std::string_view text, std::string* error) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  std::vector<CsvRecord> records;
  CsvRecord record{.line = 1};
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    if (!(record.fields.size() == 1 && record.fields[0].empty())) records.push_back(std::move(record));
    record = CsvRecord{.line = line};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) *error = absl::StrCat("line ", record.line, ": a quoted field is not closed");
  if (!record.fields.empty() || !field.empty()) end_record();
  return records;
}

std::optional<SaleKind> ParseKind(std::string text) {
  text = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (!absl::StartsWith(text, "SALE_KIND_")) text = "SALE_KIND_" + text;
  SaleKind kind;
  if (!sales::v1::SaleKind_Parse(text, &kind) || kind == sales::v1::SALE_KIND_UNSPECIFIED) {
    return std::nullopt;
  }
  return kind;
}

// "1234.5" → units 1234, nanos 500000000; non-negative, at most 9 decimals.
bool ParseAmount(absl::string_view text, int64_t* units, int32_t* nanos) {
  const size_t dot = text.find('.');
  const absl::string_view whole = text.substr(0, dot);
  const absl::string_view fraction = dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 15 || fraction.size() > 9 ||
      (dot != absl::string_view::npos && fraction.empty())) {
    return false;
  }
  for (char c : whole) if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  for (char c : fraction) if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  if (!absl::SimpleAtoi(whole, units)) return false;
  std::string padded(fraction);
  padded.resize(9, '0');
  return absl::SimpleAtoi(padded, nanos);
}

std::optional<absl::Time> ParseSaleTime(std::string_view text) {
  if (absl::StatusOr<absl::Time> t = events::ParseEventTime(text); t.ok()) return *t;
  absl::Time day;
  std::string error;
  if (text.size() == 10 && absl::ParseTime("%Y-%m-%d", absl::string_view(text.data(), text.size()), absl::UTCTimeZone(), &day, &error)) {
    return day;
  }
  return std::nullopt;
}

// The row as one document line (plus the document's fields); problems appended to `bad`.
SaleRecorded ParseRow(const std::map<std::string, std::string>& row, absl::Time now,
                      std::vector<std::string>* bad) {
  auto get = [&](std::string_view name) -> std::string {
    auto it = row.find(std::string(name));
    return it == row.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
  };
  for (const char* name : kRequired) {
    if (get(name).empty()) bad->push_back(absl::StrCat(name, ": is required"));
  }
  SaleRecorded sale;
  sale.set_vendor_id(get("vendor_id"));
  sale.set_erp_system_id(get("erp_system_id"));
  sale.set_partner_external_id(get("partner_external_id"));
  sale.set_erp_document_id(get("erp_document_id"));
  sale.set_original_erp_document_id(get("original_erp_document_id"));
  sale.set_deal_id(get("deal_id"));
  if (!get("kind").empty()) {
    if (auto kind = ParseKind(get("kind"))) {
      sale.set_kind(*kind);
    } else {
      bad->push_back(absl::StrCat("kind: must be sell_in, sell_through or return (got \"",
                                  get("kind"), "\")"));
    }
  }
  if (!get("returned_kind").empty()) {
    auto kind = ParseKind(get("returned_kind"));
    if (kind && *kind != sales::v1::SALE_KIND_RETURN) {
      sale.set_returned_kind(*kind);
    } else {
      bad->push_back(absl::StrCat("returned_kind: must be sell_in or sell_through (got \"",
                                  get("returned_kind"), "\")"));
    }
  }
  const std::string currency = get("currency_code");
  if (!currency.empty()) {
    if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(), absl::ascii_isupper)) {
      bad->push_back(absl::StrCat("currency_code: must be 3 upper-case letters (got \"", currency, "\")"));
    }
    sale.set_currency_code(currency);
  }
  if (!get("sale_time").empty()) {
    if (auto time = ParseSaleTime(get("sale_time"))) {
      sale.mutable_sale_time()->set_seconds(absl::ToUnixSeconds(*time));
      sale.mutable_sale_time()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(*time - absl::FromUnixSeconds(absl::ToUnixSeconds(*time)))));
      if (*time < absl::FromCivil(absl::CivilDay(1990, 1, 1), absl::UTCTimeZone()) ||
          *time > now + absl::Hours(24)) {
        bad->push_back(absl::StrCat("sale_time: must be from 1990-01-01 to one day from now (got \"",
                                    get("sale_time"), "\")"));
      }
    } else {
      bad->push_back(absl::StrCat("sale_time: must be RFC 3339 or YYYY-MM-DD (got \"",
                                  get("sale_time"), "\")"));
    }
  }
  auto* line = sale.add_lines();
  line->set_sku(get("sku"));
  line->set_product_category(get("product_category"));
  int64_t quantity = 0;
  if (!get("quantity").empty()) {
    if (!absl::SimpleAtoi(get("quantity"), &quantity) || quantity < 1 || quantity > 1000000000) {
      bad->push_back(absl::StrCat("quantity: must be a whole number 1..1000000000 (got \"",
                                  get("quantity"), "\")"));
    }
  }
  line->set_quantity(quantity);
  int64_t units = 0;
  int32_t nanos = 0;
  if (!get("amount").empty() && !ParseAmount(get("amount"), &units, &nanos)) {
    bad->push_back(absl::StrCat("amount: must be a non-negative decimal such as 1234.50 (got \"",
                                get("amount"), "\")"));
  }
  line->mutable_amount()->set_currency_code(currency);
  line->mutable_amount()->set_units(units);
  line->mutable_amount()->set_nanos(nanos);
  const std::string name = get("customer_legal_name"), country = get("customer_country_code");
  if (!name.empty() || !country.empty() || !get("customer_web_domain").empty() ||
      !get("customer_tax_id").empty()) {
    if (name.empty()) bad->push_back("customer_legal_name: is required with a customer");
    if (country.empty()) bad->push_back("customer_country_code: is required with a customer");
    auto* customer = sale.mutable_end_customer();
    customer->set_legal_name(name);
    customer->set_country_code(country);
    customer->set_web_domain(get("customer_web_domain"));
    customer->set_tax_id(get("customer_tax_id"));
  } else if (sale.kind() == sales::v1::SALE_KIND_SELL_THROUGH) {
    bad->push_back("customer_legal_name: a sell_through sale needs its end customer");
  }
  return sale;
}

std::string DocumentKey(const SaleRecorded& s) {
  return absl::StrCat(s.vendor_id(), "/", s.erp_system_id(), "/", s.erp_document_id());
}

}  // namespace

SalesCsv ParseSalesCsv(std::string_view text, absl::Time now) {
  SalesCsv result;
  std::vector<CsvRecord> records = SplitCsv(text, &result.fatal);
  if (!result.fatal.empty()) return result;
  if (records.empty()) {
    result.fatal = "the file is empty (it needs a header row; see prmctl sales publish --help)";
    return result;
  }
  std::vector<std::string> header;
  std::vector<std::string> errors;
  for (const std::string& name : records[0].fields) {
    std::string column = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    const bool known = std::find(std::begin(kRequired), std::end(kRequired), column) !=
                           std::end(kRequired) ||
                       std::find(std::begin(kOptional), std::end(kOptional), column) !=
                           std::end(kOptional);
    if (!known) errors.push_back(absl::StrCat("unknown column \"", name, "\""));
    if (std::find(header.begin(), header.end(), column) != header.end()) {
      errors.push_back(absl::StrCat("column \"", name, "\" appears twice"));
    }
    header.push_back(std::move(column));
  }
  for (const char* name : kRequired) {
    if (std::find(header.begin(), header.end(), name) == header.end()) {
      errors.push_back(absl::StrCat("missing column \"", name, "\""));
    }
  }
  if (!errors.empty()) {
    result.fatal = absl::StrCat("header (line ", records[0].line, "): ", absl::StrJoin(errors, "; "));
    return result;
  }

  // Documents are runs of rows with the same key; one bad row spoils its document.
  std::optional<SalesDocument> current;
  bool current_bad = false;
  auto finish = [&] {
    if (!current) return;
    if (current_bad) {
      ++result.skipped_documents;
    } else {
      result.documents.push_back(std::move(*current));
    }
    current.reset();
    current_bad = false;
  };
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    std::vector<std::string> bad;
    if (record.fields.size() != header.size()) {
      bad.push_back(absl::StrCat("has ", record.fields.size(), " fields, the header ",
                                 header.size()));
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < record.fields.size(); ++i) {
      row[header[i]] = record.fields[i];
    }
    SaleRecorded sale = ParseRow(row, now, &bad);
    if (current && DocumentKey(current->sale) == DocumentKey(sale)) {
      const SaleRecorded& first = current->sale;
      for (auto [name, mine, theirs] :
           {std::tuple{"partner_external_id", sale.partner_external_id(), first.partner_external_id()},
            std::tuple{"currency_code", sale.currency_code(), first.currency_code()},
            std::tuple{"kind", sales::v1::SaleKind_Name(sale.kind()),
                       sales::v1::SaleKind_Name(first.kind())}}) {
        if (mine != theirs) {
          bad.push_back(absl::StrCat(name, ": differs from the document's first row (line ",
                                     current->line, ")"));
        }
      }
      *current->sale.add_lines() = sale.lines(0);
    } else {
      finish();
      current = SalesDocument{.line = record.line, .sale = std::move(sale)};
    }
    if (current->sale.lines_size() > 1000) bad.push_back("the document has more than 1000 lines");
    for (const std::string& problem : bad) {
      result.problems.push_back(absl::StrCat("line ", record.line, ": ", problem));
    }
    current_bad |= !bad.empty();
  }
  finish();
  return result;
}

namespace {

struct PublishOptions {
  std::string csv;
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "prm.sales.v1";
  std::string mode = "binary";
  std::string content_type = "protobuf";
  std::string source;
  bool strict = false;
  bool json = false;
  int64_t batch = 500;
  absl::Duration timeout = absl::Seconds(30);
};

// "[#########-----------]  45%  450/1000" (TTY), or a plain line at every 10 %.
class Progress {
 public:
  Progress(const CommandContext& context, size_t total) : context_(context), total_(total) {}
  void Update(size_t done, absl::Duration elapsed) {
    const int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
    const std::string rate =
        elapsed > absl::ZeroDuration()
            ? absl::StrFormat("  %.0f/s", static_cast<double>(done) / absl::ToDoubleSeconds(elapsed))
            : "";
    if (context_.err_is_terminal) {
      constexpr int kBar = 30;
      const int filled = percent * kBar / 100;
      context_.err << "\r[" << std::string(filled, '#') << std::string(kBar - filled, '-') << "] "
                   << absl::StrFormat("%3d%%  %zu/%zu", percent, done, total_) << rate
                   << "\033[K" << (done == total_ ? "\n" : "") << std::flush;  // clear the rest
    } else if (percent / 10 > last_decile_ || done == total_) {
      last_decile_ = percent / 10;
      context_.err << "published " << done << "/" << total_ << " (" << percent << "%)" << rate
                   << "\n";
    }
  }

 private:
  const CommandContext& context_;
  size_t total_;
  int last_decile_ = 0;
};

int Publish(const PublishOptions& options, const CommandContext& context) {
  std::string text;
  {
    std::ifstream in(options.csv, std::ios::binary);
    if (!in) {
      context.err << "prmctl sales publish: --csv: cannot read " << options.csv << "\n";
      return kExitUsage;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  SalesCsv csv = ParseSalesCsv(text, context.clock.Now());
  if (!csv.fatal.empty()) {
    context.err << "prmctl sales publish: " << options.csv << ": " << csv.fatal << "\n";
    return kExitUsage;
  }
  for (const std::string& problem : csv.problems) {
    context.err << options.csv << ": " << problem << "\n";
  }
  if (!csv.problems.empty()) {
    context.err << options.csv << ": " << csv.skipped_documents << " document(s) with bad rows "
                << (options.strict ? "— nothing sent (--strict)" : "skipped") << "\n";
    if (options.strict) return kExitFailure;
  }

  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create({.brokers = options.brokers, .client_id = "prmctl"});
  if (!producer.ok()) {
    context.err << "prmctl sales publish: --kafka-brokers: " << producer.status().message()
                << "\n";
    return kExitUsage;
  }
  if (absl::Status up = (*producer)->CheckBrokers(absl::Seconds(10)); !up.ok()) {
    context.err << "prmctl sales publish: Kafka at " << options.brokers
                << " does not answer: " << up.message() << "\n";
    return kExitFailure;
  }

  const absl::Time start = context.clock.Now();
  const events::PayloadEncoding encoding = options.content_type == "json"
                                               ? events::PayloadEncoding::kJson
                                               : events::PayloadEncoding::kProtobuf;
  std::map<std::string, std::pair<int, int>> per_partner;  // sent, failed
  size_t sent = 0, failed = 0;
  std::map<std::string, int> errors;  // message → count
  Progress progress(context, csv.documents.size());
  for (size_t begin = 0; begin < csv.documents.size(); begin += options.batch) {
    const size_t end = std::min(csv.documents.size(), begin + static_cast<size_t>(options.batch));
    std::vector<kafka::Record> records;
    for (size_t i = begin; i < end; ++i) {
      const SaleRecorded& sale = csv.documents[i].sale;
      events::CloudEvent event = events::MakeEvent(
          sale, std::string(kEventType),
          options.source.empty() ? "erp/" + sale.erp_system_id() : options.source,
          DocumentKey(sale), context.clock.Now(),
          absl::StrCat(sale.vendor_id(), "/", sale.erp_system_id(), "/", sale.partner_external_id()),
          encoding);
      records.push_back(options.mode == "structured"
                            ? events::EncodeStructured(event, options.topic)
                            : events::EncodeBinary(event, options.topic));
    }
    const std::vector<absl::Status> results = (*producer)->ProduceAndWait(records, options.timeout);
    for (size_t i = begin; i < end; ++i) {
      const absl::Status& status = results[i - begin];
      auto& counts = per_partner[csv.documents[i].sale.partner_external_id()];
      if (status.ok()) {
        ++sent;
        ++counts.first;
      } else {
        ++failed;
        ++counts.second;
        ++errors[absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message())];
      }
    }
    progress.Update(end, context.clock.Now() - start);
  }
  const absl::Duration elapsed = context.clock.Now() - start;
  const double rate = elapsed > absl::ZeroDuration()
                          ? static_cast<double>(sent) / absl::ToDoubleSeconds(elapsed)
                          : 0;

  std::vector<std::pair<std::string, std::pair<int, int>>> partners(per_partner.begin(),
                                                                    per_partner.end());
  std::stable_sort(partners.begin(), partners.end(), [](const auto& a, const auto& b) {
    return a.second.first + a.second.second > b.second.first + b.second.second;
  });
  if (options.json) {
    std::vector<std::string> entries;
    for (const auto& [partner, counts] : partners) {
      entries.push_back(absl::StrFormat("{\"partner_external_id\":\"%s\",\"sent\":%d,\"failed\":%d}",
                                        absl::CEscape(partner), counts.first, counts.second));
    }
    context.out << absl::StrFormat(
        "{\"topic\":\"%s\",\"sent\":%zu,\"failed\":%zu,\"skipped_documents\":%d,"
        "\"bad_rows\":%zu,\"seconds\":%.3f,\"events_per_second\":%.1f,\"partners\":[%s]}\n",
        absl::CEscape(options.topic), sent, failed, csv.skipped_documents, csv.problems.size(),
        absl::ToDoubleSeconds(elapsed), rate, absl::StrJoin(entries, ","));
  } else {
    context.out << "sent     " << sent << " SaleRecorded event(s) to " << options.topic << " ("
                << options.mode << ", " << options.content_type << ")\n"
                << "failed   " << failed << "\n"
                << "skipped  " << csv.skipped_documents << " document(s), " << csv.problems.size()
                << " bad row(s)\n"
                << "elapsed  " << absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1)))
                << (rate > 0 ? absl::StrFormat("  (%.0f events/s)", rate) : "") << "\n";
    for (const auto& [message, count] : errors) {
      context.out << "error    " << count << " × " << message << "\n";
    }
    constexpr size_t kShown = 20;
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < partners.size() && i < kShown; ++i) {
      rows.push_back({partners[i].first, absl::StrCat(partners[i].second.first),
                      absl::StrCat(partners[i].second.second)});
    }
    context.out << "\n";
    PrintTable({"partner_external_id", "sent", "failed"}, rows, context.out);
    if (partners.size() > kShown) {
      context.out << "… and " << partners.size() - kShown << " more partners\n";
    }
  }
  return failed == 0 && csv.problems.empty() ? kExitOk : kExitFailure;
}

}  // namespace

int RunSales(int argc, const char* const* argv, const CommandContext& context) {
  if (argc < 2 || std::string_view(argv[1]) != "publish") {
    const bool help = argc >= 2 && (std::string_view(argv[1]) == "--help" ||
                                    std::string_view(argv[1]) == "-h");
    (help ? context.out : context.err)
        << "Usage: prmctl sales publish --csv=FILE [--flag=value ...]\n\nVerbs:\n"
           "  publish   send ERP sales from a CSV file to Kafka as SaleRecorded CloudEvents\n";
    return help ? kExitOk : kExitUsage;
  }
  PublishOptions options;
  FlagSet flags("prmctl sales publish",
                "send ERP sales from a CSV file to Kafka as prm.sales.SaleRecorded.v1 CloudEvents. "
                "Columns (header row, any order): vendor_id, erp_system_id, partner_external_id, "
                "erp_document_id, kind (sell_in|sell_through|return), sale_time (RFC 3339 or "
                "YYYY-MM-DD), currency_code, sku, product_category, quantity, amount (1234.50); "
                "optional returned_kind, original_erp_document_id, deal_id, customer_legal_name, "
                "customer_country_code, customer_web_domain, customer_tax_id. Consecutive rows of "
                "one document are its lines. Exit code 1 when a row was bad or an event failed");
  flags.String("csv", &options.csv, "the CSV file");
  flags.String("kafka-brokers", &options.brokers, "Kafka bootstrap servers host:port[,…]");
  flags.String("topic", &options.topic, "the topic");
  flags.Choice("mode", &options.mode, {"binary", "structured"},
               "CloudEvents content mode (ce_* headers, or one JSON document)");
  flags.Choice("content-type", &options.content_type, {"protobuf", "json"},
               "the payload: application/protobuf or application/json");
  flags.String("source", &options.source, "the events' source (default erp/<erp_system_id>)");
  flags.Bool("strict", &options.strict, "send nothing when any row is bad");
  flags.Bool("json", &options.json, "print the summary as JSON");
  flags.Int("batch", &options.batch, "events sent and acknowledged together", 1, 100000);
  flags.Duration("timeout", &options.timeout, "how long to wait for each batch's acknowledgements");
  flags.Required("csv");
  if (std::optional<int> stop = ParseCommandFlags(flags, argc - 1, argv + 1, context)) return *stop;
  return Publish(options, context);
}

}  // namespace prm::prmctl
