// FindPartners over N enrolled partners (default 100,000) with realistic attributes, built with
// a fixed seed: p50/p99/max latency per lead for several lead shapes, in ranked and
// weighted-random mode (wall clock, and this thread's CPU time, which excludes time lost to other
// processes on a busy machine), and the process RSS (VmRSS) before and after loading.
//
// Usage: prm-bench-partner-find [--partners N] [--leads N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/common/percentile.h"
#include "common/time/clock.h"
#include "services/partner-registry/domain/partner_directory.h"

namespace {

using namespace prm::partner;  // NOLINT: a benchmark's main file
using prm::bench::Percentile;

long VmRssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

const std::vector<std::string> kCountries = {"LV", "LT", "EE", "FI", "SE", "NO", "DK", "DE",
                                             "PL", "NL", "BE", "FR", "ES", "IT", "GB", "IE",
                                             "AT", "CH", "CZ", "US", "CA", "BR", "MX", "JP",
                                             "AU", "IN", "SG", "ZA", "AE", "TR"};
const std::vector<std::string> kRegions = {"EMEA", "NORDICS", "DACH", "BALTICS", "NA", "LATAM",
                                           "APAC", "MEA"};
const std::vector<std::string> kVerticals = {
    "healthcare", "finance", "retail", "manufacturing", "public", "education", "energy",
    "telecom", "media", "logistics", "hospitality", "legal", "insurance", "automotive",
    "pharma", "agriculture", "construction", "real-estate", "gaming", "non-profit"};
const std::vector<std::string> kCategories = {"storage", "network", "compute", "security",
                                              "software", "services", "cloud", "edge"};

Program MakeBenchProgram() {
  Program p;
  p.vendor_id = "vendor-1";
  p.display_name = "Bench program";
  for (int i = 0; i < 15; ++i) {
    p.competencies.push_back(
        {absl::StrCat("comp-", i), absl::StrCat("Competency ", i), 3, absl::Hours(24 * 365),
         absl::Hours(24 * 30)});
  }
  const char* ids[] = {"registered", "silver", "gold", "platinum"};
  for (int i = 0; i < 4; ++i) {
    Tier t{ids[i], ids[i], {}, {}};
    if (i > 0) {
      t.requirements.min_trailing_revenue = Money::FromUnits("EUR", 100'000LL * i * i);
      t.requirements.min_active_competencies = i;
    }
    p.tiers.push_back(t);
  }
  return p;
}

// CPU time of this thread, which excludes time the scheduler gave to other processes.
double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Stats {
  double p50, p99, max;
};

Stats Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {Percentile(us, 0.50), Percentile(us, 0.99), us.back()};
}

}  // namespace

int main(int argc, char** argv) {
  int partners = 100'000;
  int leads = 2'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--partners") partners = std::atoi(argv[i + 1]);
    if (flag == "--leads") leads = std::atoi(argv[i + 1]);
  }
  std::mt19937_64 rng(20260101);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };

  prm::FakeClock clock;
  PartnerDirectory dir(clock);
  const long rss_idle = VmRssKiB();
  const auto load_start = std::chrono::steady_clock::now();
  const std::string program_id = dir.CreateProgram(MakeBenchProgram())->program.program_id;
  for (int i = 0; i < partners; ++i) {
    Partner p;
    p.legal_name = absl::StrCat("Partner ", i, " SIA");
    p.tax_id = absl::StrCat("LV", 40000000000LL + i);
    p.web_domains = {absl::StrCat("partner", i, ".example.com")};
    p.hq_country_code = pick(kCountries);
    p.types = {static_cast<PartnerType>(1 + rng() % 9)};
    if (rng() % 3 == 0) {
      p.types.push_back(static_cast<PartnerType>(1 + (static_cast<int>(p.types[0])) % 9));
    }
    const int n_countries = 1 + static_cast<int>(rng() % 5);
    p.country_codes.push_back(p.hq_country_code);
    for (int c = 1; c < n_countries; ++c) p.country_codes.push_back(pick(kCountries));
    p.sales_regions = {pick(kRegions)};
    const int n_verticals = 1 + static_cast<int>(rng() % 3);
    for (int v = 0; v < n_verticals; ++v) p.verticals.push_back(pick(kVerticals));
    p.external_ids = {{"vendor-1", "sap", absl::StrCat("A-", i)}};
    auto created = dir.CreatePartner(std::move(p), "vendor-1");
    if (!created.ok()) {
      std::fprintf(stderr, "create: %s\n", created.status().ToString().c_str());
      return 1;
    }
    const std::string& id = created->partner.partner_id;
    (void)dir.Enroll("vendor-1", id, program_id);
    (void)dir.Transition("vendor-1", id, EnrollmentState::kOnboarding, "");
    const int n_comps = static_cast<int>(rng() % 5);
    for (int c = 0; c < n_comps; ++c) {
      (void)dir.GrantCompetency(
          "vendor-1", id,
          Competency{.competency_id = absl::StrCat("comp-", rng() % 15),
                     .level = 1 + static_cast<int>(rng() % 3),
                     .certified_people = static_cast<int>(rng() % 20)});
    }
    const int n_sales = 1 + static_cast<int>(rng() % 4);
    for (int s = 0; s < n_sales; ++s) {
      (void)dir.ApplySale("vendor-1", "sap", absl::StrCat("A-", i),
                          Sale{"", clock.Now(), SaleKind::kSellIn, pick(kCategories),
                               Money::FromUnits("EUR", static_cast<int64_t>(rng() % 400'000))});
    }
    const int n_deals = static_cast<int>(rng() % 6);
    for (int d = 0; d < n_deals; ++d) {
      const std::string deal = absl::StrCat(id, "-d", d);
      (void)dir.ApplyDealOutcome("vendor-1", id,
                                 {deal, DealOutcomeKind::kSubmitted, clock.Now(), {}});
      if (rng() % 2 == 0) {
        (void)dir.ApplyDealOutcome(
            "vendor-1", id,
            {deal, rng() % 2 ? DealOutcomeKind::kWon : DealOutcomeKind::kLost, clock.Now(),
             clock.Now() + absl::Hours(24 * (1 + rng() % 90))});
      }
    }
    if (rng() % 20 == 0) (void)dir.SetLeadOptOut("vendor-1", id, true);
    (void)dir.Transition("vendor-1", id, EnrollmentState::kActive, "");
  }
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const long rss_loaded = VmRssKiB();
  std::printf("partners=%d load=%.1fs rss_idle=%ld KiB rss_loaded=%ld KiB (%.0f bytes/partner)\n",
              partners, load_s, rss_idle, rss_loaded,
              1024.0 * static_cast<double>(rss_loaded - rss_idle) / partners);

  struct Shape {
    const char* name;
    int competencies;   // required competencies per lead
    bool country;
    bool vertical;
    int min_tier;
    bool category;
  };
  const Shape shapes[] = {
      {"country+vertical+1comp+category", 1, true, true, 0, true},
      {"country+2comp+min_tier2", 2, true, false, 2, false},
      {"vertical only", 0, false, true, 0, true},
      {"no filter (all eligible)", 0, false, false, 0, false},
  };
  for (FindMode mode : {FindMode::kRanked, FindMode::kWeightedRandom}) {
    for (const Shape& shape : shapes) {
      std::vector<double> us;
      std::vector<double> cpu_us;
      int eligible_total = 0;
      for (int l = 0; l < leads; ++l) {
        Lead lead;
        lead.lead_id = absl::StrCat("lead-", l);
        if (shape.country) lead.country_code = pick(kCountries);
        if (shape.vertical) lead.vertical = pick(kVerticals);
        if (shape.category) lead.product_category = pick(kCategories);
        for (int c = 0; c < shape.competencies; ++c) {
          lead.required_competencies.push_back({absl::StrCat("comp-", rng() % 15), 1});
        }
        lead.min_tier_rank = shape.min_tier;
        lead.excluded_partner_ids = {absl::StrCat("partner-", 1 + rng() % partners)};
        FindOptions options;
        options.mode = mode;
        options.seed = static_cast<uint64_t>(l);
        const double c0 = ThreadCpuMicros();
        const auto t0 = std::chrono::steady_clock::now();
        auto result = dir.FindPartners("vendor-1", {lead}, options);
        const auto t1 = std::chrono::steady_clock::now();
        cpu_us.push_back(ThreadCpuMicros() - c0);
        if (!result.ok()) {
          std::fprintf(stderr, "find: %s\n", result.status().ToString().c_str());
          return 1;
        }
        eligible_total += result->at(0).eligible_count;
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      const Stats s = Summarize(us);
      const Stats c = Summarize(cpu_us);
      std::printf(
          "%-8s %-32s leads=%d avg_eligible=%d wall p50=%.0fus p99=%.0fus max=%.0fus | "
          "thread-cpu p50=%.0fus p99=%.0fus\n",
          mode == FindMode::kRanked ? "ranked" : "weighted", shape.name, leads,
          eligible_total / leads, s.p50, s.p99, s.max, c.p50, c.p99);
    }
  }
  return 0;
}
