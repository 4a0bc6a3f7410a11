#include "tools/prm-demo/channel.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace prm::demo {
namespace {

// Deterministic draws from a seeded mt19937_64 (the standard distributions are not portable
// across standard libraries; these are).
class Draw {
 public:
  explicit Draw(uint64_t seed) : engine_(seed) {}
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  int Int(int lo, int hi) { return lo + static_cast<int>(Uniform() * (hi - lo + 1)); }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() {
    const double u1 = std::max(Uniform(), 1e-12), u2 = Uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * 3.14159265358979323846 * u2);
  }
  double LogNormal(double mu, double sigma) { return std::exp(mu + sigma * Normal()); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform() * v.size())];
  }

 private:
  std::mt19937_64 engine_;
};

struct Region {
  std::string name;
  std::vector<std::string> countries;
  std::vector<std::string> time_zones;
};

const std::vector<Region>& Regions() {
  static const std::vector<Region> regions = {
      {"NA", {"US", "US", "US", "CA"}, {"America/New_York", "America/Chicago", "America/Los_Angeles"}},
      {"EMEA", {"DE", "GB", "FR", "NL", "SE", "PL"}, {"Europe/Berlin", "Europe/London", "Europe/Paris"}},
      {"APAC", {"SG", "AU", "JP", "IN"}, {"Asia/Singapore", "Australia/Sydney", "Asia/Tokyo"}},
      {"LATAM", {"BR", "MX", "CL"}, {"America/Sao_Paulo", "America/Mexico_City"}},
  };
  return regions;
}

// Sales seasonality by calendar month: a strong Q4, a soft summer and January.
double Season(int month) {
  static const double kFactor[13] = {0,    0.80, 0.90, 1.05, 0.95, 1.00, 1.05,
                                     0.85, 0.80, 1.10, 1.05, 1.20, 1.45};
  return kFactor[month];
}

const std::vector<std::string> kNameA = {"North", "Blue", "Bright", "Summit", "Iron", "Silver",
                                         "Cedar", "Harbor", "Polar", "Vertex", "Granite", "Nova",
                                         "Atlas", "Pioneer", "Crest", "Orbit", "Keystone", "Echo"};
const std::vector<std::string> kNameB = {"Systems", "Networks", "Solutions", "Tech", "Digital",
                                         "Integration", "Data", "Cloud", "IT", "Partners",
                                         "Consulting", "Labs"};
const std::vector<std::string> kSuffix = {"Inc.", "GmbH", "Ltd", "LLC", "SA", "Pty Ltd", "BV"};
const std::vector<std::string> kVerticals = {"healthcare", "financial-services", "retail",
                                             "manufacturing", "public-sector", "education"};
const std::vector<std::string> kOtherVendors = {"Fabrikam", "Contoso", "Litware", "Proseware",
                                                "Wingtip", "Adatum"};
const std::vector<std::string> kCustomers = {
    "Acme Health", "Globex Bank", "Initech", "Umbrella Retail", "Stark Manufacturing",
    "Wayne Logistics", "Soylent Foods", "Hooli", "Vandelay Imports", "Pied Piper",
    "Massive Dynamic", "Cyberdyne", "Tyrell Corp", "Wonka Industries", "Oscorp",
    "Gringotts Finance", "Monarch Airlines", "Duff Brewing", "Nakatomi Trading", "Sirius Cyber",
    "Aperture Science", "Black Mesa", "Oceanic Air", "Dunder Mifflin", "Prestige Worldwide",
    "Gekko & Co", "Bluth Homes", "Los Pollos", "Krusty Foods", "Vance Refrigeration",
    "Blue Sun", "Weyland Corp", "Zorg Industries", "Jupiter Mining", "Buy n Large",
    "Spacely Sprockets", "Cogswell Cogs", "InGen", "Rekall", "Omni Consumer"};

std::string Domain(const std::string& name) {
  std::string d;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) d += static_cast<char>(std::tolower(c));
  }
  return d + ".example";
}

}  // namespace

Channel Generate(const ChannelOptions& options) {
  Draw draw(options.seed);
  Channel ch;
  ch.vendors = {
      {absl::StrCat("acme-networks-", options.run_id), "Acme Networks", "sap-acme", "USD",
       {{"registered", 0, 10, 60}, {"silver", 40'000, 40, 90}, {"gold", 120'000, 80, 120},
        {"platinum", 300'000, 150, 180}},
       {"switching", "security", "wireless", "support"}},
      {absl::StrCat("globex-cloud-", options.run_id), "Globex Cloud", "oracle-globex", "USD",
       {{"member", 0, 10, 60}, {"advanced", 60'000, 60, 90}, {"premier", 200'000, 120, 150}},
       {"compute", "storage", "backup", "services"}},
  };

  // Partners: every type, region and vertical; 30 % carry both platform vendors.
  const int types[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int i = 0; i < options.partners; ++i) {
    PartnerSpec p;
    p.key = absl::StrFormat("p%03d", i);
    const Region& region = Regions()[static_cast<size_t>(
        draw.Chance(0.38) ? 0 : draw.Chance(0.55) ? 1 : draw.Chance(0.6) ? 2 : 3)];
    p.region = region.name;
    p.country = draw.Pick(region.countries);
    p.time_zone = draw.Pick(region.time_zones);
    p.legal_name = absl::StrCat(draw.Pick(kNameA), " ", draw.Pick(kNameB), " ", i, " ",
                                draw.Pick(kSuffix));
    p.vertical = draw.Pick(kVerticals);
    // Resellers, VARs and MSPs dominate; a handful of distributors are big.
    p.type = i < 9 ? types[i] : (draw.Chance(0.7) ? draw.Pick(std::vector<int>{1, 2, 4, 5})
                                                  : types[draw.Int(0, 8)]);
    p.size = draw.LogNormal(0, 1.0) * (p.type == 3 ? 4 : 1);
    p.growth = 0.05 + 0.35 * draw.Uniform() - (draw.Chance(0.15) ? 0.3 : 0);
    const double both = draw.Uniform();
    if (both < 0.3) {
      p.vendors = {0, 1};
    } else {
      p.vendors = {both < 0.68 ? size_t{0} : size_t{1}};
    }
    for (const std::string& v : kOtherVendors) {
      if (draw.Chance(0.25)) p.other_vendors.push_back(v);
    }
    ch.partners.push_back(std::move(p));
  }

  // Concierges: three per region hub and vendor, in the hub's time zone.
  const std::vector<std::string> skills = {"pricing", "presales", "licensing", "ordering",
                                           "marketing"};
  const std::vector<std::string> first = {"Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus",
                                          "Hana", "Ivan", "Jo", "Kai", "Lena", "Mo", "Nia",
                                          "Omar", "Pia", "Raj", "Sofia"};
  for (size_t v = 0; v < ch.vendors.size(); ++v) {
    for (size_t r = 0; r < 3; ++r) {
      for (int k = 0; k < 3; ++k) {
        ConciergeSpec c;
        c.vendor = v;
        c.region = Regions()[r].name;
        c.time_zone = Regions()[r].time_zones[0];
        c.name = absl::StrCat(first[(v * 9 + r * 3 + k) % first.size()], " (",
                              ch.vendors[v].display_name, ", ", c.region, ")");
        for (const std::string& s : skills) c.skills.push_back({s, draw.Int(2, 9)});
        ch.concierges.push_back(std::move(c));
      }
    }
  }

  // Two years of sales up to yesterday, per partner and vendor.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth last = absl::ToCivilMonth(options.now - absl::Hours(24), utc);
  const absl::CivilMonth first_month = last - 23;
  const absl::Time sales_end = options.now - absl::Hours(24);
  int document = 0;
  for (size_t pi = 0; pi < ch.partners.size(); ++pi) {
    const PartnerSpec& p = ch.partners[pi];
    for (size_t v : p.vendors) {
      const VendorSpec& vendor = ch.vendors[v];
      const double monthly = 2'500 * p.size * (0.6 + 0.8 * draw.Uniform());
      for (absl::CivilMonth m = first_month; m <= last; ++m) {
        const double years_from_now = static_cast<double>(last - m) / 12.0;
        const double level = monthly * Season(m.month()) / std::pow(1 + p.growth, years_from_now);
        int invoices = draw.Int(1, 4);
        const bool big = draw.Chance(0.03);
        for (int n = 0; n < invoices + (big ? 1 : 0); ++n) {
          SaleSpec s;
          s.vendor = v;
          s.partner = pi;
          s.document = absl::StrFormat("INV-%06d", ++document);
          s.big_deal = n == invoices;
          s.category = draw.Pick(vendor.categories);
          s.sell_through = draw.Chance(0.4) || s.big_deal;
          if (s.sell_through) {
            s.customer = draw.Pick(kCustomers);
            s.customer_country = p.country;
          }
          const double amount = s.big_deal ? level * (5 + 10 * draw.Uniform())
                                           : level / invoices * draw.LogNormal(0, 0.35);
          s.units = std::max<int64_t>(50, static_cast<int64_t>(amount));
          s.quantity = std::max<int64_t>(1, s.units / 800);
          const absl::Time start = absl::FromCivil(absl::CivilSecond(m), utc);
          const absl::Time end = std::min(absl::FromCivil(absl::CivilSecond(m + 1), utc), sales_end);
          if (end <= start) continue;
          s.time = start + (end - start) * draw.Uniform();
          ch.sales.push_back(std::move(s));
        }
      }
    }
  }
  std::sort(ch.sales.begin(), ch.sales.end(),
            [](const SaleSpec& a, const SaleSpec& b) { return a.time < b.time; });

  // Deal registrations: some compete for a customer another partner registered first.
  for (size_t v = 0; v < ch.vendors.size(); ++v) {
    std::vector<size_t> carriers;
    for (size_t pi = 0; pi < ch.partners.size(); ++pi) {
      const auto& vs = ch.partners[pi].vendors;
      if (std::find(vs.begin(), vs.end(), v) != vs.end()) carriers.push_back(pi);
    }
    std::vector<size_t> registered;  // indexes into ch.deals of this vendor
    for (int i = 0; i < options.deals_per_vendor; ++i) {
      DealSpec d;
      d.vendor = v;
      d.partner = draw.Pick(carriers);
      const bool compete = !registered.empty() && draw.Chance(0.15);
      if (compete) {
        const DealSpec& rival = ch.deals[draw.Pick(registered)];
        if (rival.partner != d.partner) {
          d.customer = rival.customer;
          d.customer_country = rival.customer_country;
          d.category = rival.category;
          d.competes = true;
        }
      }
      if (!d.competes) {
        d.customer = absl::StrCat(draw.Pick(kCustomers), " ", ch.partners[d.partner].country);
        d.customer_country = ch.partners[d.partner].country;
        d.category = draw.Pick(ch.vendors[v].categories);
      }
      d.customer_domain = Domain(d.customer);
      d.units = static_cast<int64_t>(5'000 * draw.LogNormal(0.5, 0.8));
      d.expected_close_days = draw.Int(20, 150);
      const double fate = draw.Uniform();
      d.fate = d.competes ? DealSpec::Fate::kRejected
               : fate < 0.45 ? DealSpec::Fate::kWon
               : fate < 0.62 ? DealSpec::Fate::kLost
                             : DealSpec::Fate::kOpen;
      if (!d.competes) registered.push_back(ch.deals.size());
      ch.deals.push_back(std::move(d));
    }
    // Partner requests to the concierges.
    const std::vector<std::pair<int, std::string>> kinds = {
        {1, "Quote for a multi-site rollout"}, {4, "Pre-sales architecture review"},
        {6, "License true-up question"}, {3, "Where is my order?"},
        {5, "Co-marketing funds request"}};
    for (int i = 0; i < options.requests_per_vendor; ++i) {
      RequestSpec r;
      r.vendor = v;
      r.partner = draw.Pick(carriers);
      const auto& kind = draw.Pick(kinds);
      r.category = kind.first;
      r.title = kind.second;
      r.channel = draw.Pick(std::vector<int>{1, 1, 4, 3});  // email, portal, chat
      ch.requests.push_back(std::move(r));
    }
  }
  return ch;
}

}  // namespace prm::demo
