#pragma once

// The demonstration's channel, generated from a seed: vendors with their programs, partners of
// every type across regions and verticals (each carrying one or two of the vendors and some
// others), concierges with skills and time zones, two years of ERP sales with growth,
// seasonality and lumpy big deals, deal registrations (some competing for the same customer)
// and partner requests. Plain data: no gRPC, Kafka or clock; the same seed gives the same channel.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace prm::demo {

struct TierSpec {
  std::string tier_id;
  int64_t min_revenue = 0;  // trailing 12 months, vendor currency
  int routing_priority = 0;
  int protection_days = 90;
};

struct VendorSpec {
  std::string vendor_id;     // unique per run
  std::string display_name;  // "Acme Networks"
  std::string erp_system_id;
  std::string currency;
  std::vector<TierSpec> tiers;  // ascending
  std::vector<std::string> categories;  // product categories it sells
};

struct PartnerSpec {
  std::string key;  // stable per seed ("p017")
  std::string legal_name;
  std::string country;
  std::string region;  // NA, EMEA, APAC, LATAM
  std::string vertical;
  std::string time_zone;
  int type = 1;  // prm.common.v1.PartnerType
  std::vector<size_t> vendors;  // indexes into Channel::vendors
  std::vector<std::string> other_vendors;  // carried, not on the platform
  double size = 1;  // relative scale of its business
  double growth = 0.1;  // yearly
};

struct ConciergeSpec {
  size_t vendor = 0;
  std::string name;
  std::string region;
  std::string time_zone;
  std::vector<std::pair<std::string, int>> skills;
};

struct SaleSpec {
  size_t vendor = 0;
  size_t partner = 0;
  std::string document;
  bool sell_through = false;
  std::string category;
  std::string customer;  // sell-through only
  std::string customer_country;
  int64_t quantity = 1;
  int64_t units = 0;
  absl::Time time;
  bool big_deal = false;
};

struct DealSpec {
  size_t vendor = 0;
  size_t partner = 0;
  std::string customer;
  std::string customer_domain;
  std::string customer_country;
  std::string category;
  int64_t units = 0;
  int expected_close_days = 60;
  // What happens after submission: decided by the channel manager unless auto-approved.
  enum class Fate { kWon, kLost, kOpen, kRejected } fate = Fate::kOpen;
  bool competes = false;  // registered for a customer another partner registered first
};

struct RequestSpec {
  size_t vendor = 0;
  size_t partner = 0;
  int category = 1;  // prm.routing.v1.TaskCategory
  int channel = 1;   // prm.routing.v1.Channel
  std::string title;
};

struct Channel {
  std::vector<VendorSpec> vendors;
  std::vector<PartnerSpec> partners;
  std::vector<ConciergeSpec> concierges;
  std::vector<SaleSpec> sales;  // historical, in time order
  std::vector<DealSpec> deals;
  std::vector<RequestSpec> requests;
};

struct ChannelOptions {
  uint64_t seed = 42;
  int partners = 240;
  int deals_per_vendor = 60;
  int requests_per_vendor = 60;
  std::string run_id = "demo";  // suffix of vendor ids, so reruns do not collide
  absl::Time now;                // sales end a day before this
};

Channel Generate(const ChannelOptions& options);

}  // namespace prm::demo
