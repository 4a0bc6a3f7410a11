// Conflict check (ResolveCustomerIdentity + ConflictIndex::FindConflicts) against N active
// registrations with generated, realistic customer names (fixed seed), for each N in --sizes.
// Prints p50/p99/max per check and the process RSS after loading each size.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/common/percentile.h"
#include "services/deal-registration/domain/conflict_index.h"
#include "services/deal-registration/domain/customer_identity.h"

namespace {

using prm::bench::Percentile;
using prm::deal::ConflictIndex;
using prm::deal::DealState;
using prm::deal::EndCustomer;
using prm::deal::IndexedRegistration;

const std::vector<std::string> kFirst = {
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay",
    "Soylent", "Tyrell", "Cyberdyne", "Massive", "Pied", "Aperture", "Black", "Blue", "Red",
    "Green", "Silver", "Golden", "North", "South", "East", "West", "Baltic", "Nordic", "Alpine",
    "Pacific", "Atlantic", "Delta", "Sigma", "Omega", "Alpha", "Beta", "Gamma", "Zenith",
    "Summit", "Apex", "Vertex", "Nova", "Stellar", "Lunar", "Solar", "Terra", "Aqua", "Ignis",
    "Ramesh", "Ganesh", "Suresh", "Mahesh", "Tata", "Bharat", "Indus", "Ganga", "Rimi",
    "Maxima", "Latvijas", "Rīgas", "Kauno", "Vilniaus", "Tallinna", "Tartu", "Müller",
    "Schäfer", "Bäckerei", "Straßen", "Société", "Café", "Électricité", "Żabka", "Łódzka",
    "Škoda", "Koç", "Yılmaz", "Öztürk", "Ромашка", "Газпром", "Северный", "Байкал", "Київ",
    "Sakura", "Fuji", "Mitsu", "Hana", "Shin", "Dai", "Kang", "Hyun", "Jin", "Hua", "Zhong",
    "Maju", "Jaya", "Sumber", "Bintang", "Garuda", "Pelita", "Sinar", "Mega", "Prima",
};
const std::vector<std::string> kMiddle = {
    "Steel", "Paper", "Foods", "Motors", "Logistics", "Solutions", "Systems", "Networks",
    "Energy", "Pharma", "Textiles", "Traders", "Trading", "Holdings", "Capital", "Media",
    "Software", "Robotics", "Dynamics", "Labs", "Works", "Industries", "Electric", "Airlines",
    "Shipping", "Mining", "Chemicals", "Foods", "Dairy", "Bakery", "Brewery", "Retail",
    "Telecom", "Bank", "Insurance", "Health", "Clinic", "Hotels", "Travel", "Construction",
    "Gāze", "Būve", "Nami", "Vesi", "Balzams", "Polska", "Auto", "Tekstil", "Inşaat", "Нефть",
    "Сталь", "Кабель", "Shoji", "Denki", "Kogyo", "Sukses", "Makmur", "Abadi", "Sentosa",
};
const std::vector<std::string> kForms = {
    "Inc.", "Incorporated", "Corp", "Corporation", "LLC", "Ltd", "Limited", "PLC", "GmbH",
    "GmbH & Co. KG", "AG", "S.A.", "SAS", "SARL", "S.p.A.", "S.r.l.", "B.V.", "N.V.", "AB",
    "A/S", "Oy", "Sp. z o.o.", "s.r.o.", "Kft.", "d.o.o.", "A.Ş.", "Pty Ltd", "Pvt. Ltd.",
    "Sdn. Bhd.", "Co., Ltd.", "K.K.", "Tbk", "S.A. de C.V.", "Ltda.", "",
};
const std::vector<std::string> kLeadForms = {"SIA", "UAB", "OÜ", "AS", "PT", "ООО", "ПАО", "АО"};
const std::vector<std::string> kCountries = {"US", "GB", "DE", "FR", "IT", "ES", "NL", "SE",
                                             "LV", "LT", "EE", "PL", "CZ", "IN", "ID", "JP",
                                             "MY", "AU", "BR", "MX", "RU", "TR"};
const std::vector<std::string> kTlds = {"com", "co.uk", "de", "fr", "lv", "lt", "com.au", "io",
                                        "net", "co.jp", "pl", "com.br"};
constexpr int kVendors = 20;
constexpr int kSkus = 20000;
constexpr int kCategories = 200;

struct Generator {
  std::mt19937_64 rng{20260101};
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

  EndCustomer Customer() {
    EndCustomer c;
    std::string core = Pick(kFirst) + " " + Pick(kMiddle);
    if (Int(0, 2) == 0) core += " " + Pick(kMiddle);
    if (Int(0, 3) == 0) core = Pick(kFirst) + " " + core;
    if (Int(0, 4) == 0) core += " " + std::to_string(Int(1, 999));
    c.legal_name = Int(0, 5) == 0 ? Pick(kLeadForms) + " " + core : core + " " + Pick(kForms);
    c.country_code = Pick(kCountries);
    std::string host;
    for (char ch : core) {
      if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
        host += static_cast<char>(ch | 0x20);
      }
    }
    if (host.empty()) host = "firm" + std::to_string(Int(1, 1'000'000));
    host += std::to_string(Int(1, 99));
    if (Int(0, 3) != 0) c.web_domain = host + "." + Pick(kTlds);
    if (c.web_domain.empty() || Int(0, 1) == 0) {
      c.tax_id = c.country_code + std::to_string(Int(10'000'000, 99'999'999)) +
                 std::to_string(Int(100, 999));
    }
    return c;
  }

  void Products(IndexedRegistration& r) {
    const int lines = Int(1, 3);
    for (int i = 0; i < lines; ++i) {
      const int sku = Int(0, kSkus - 1);
      r.skus.push_back(absl::StrCat("SKU-", sku));
      r.categories.push_back(absl::StrCat("cat-", sku % kCategories));
    }
  }
};

long RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

void RunSize(size_t n, size_t probes) {
  Generator gen;
  const absl::Time t0 = absl::FromUnixSeconds(1'767'225'600);
  struct Known {
    std::string vendor_id;
    EndCustomer customer;
    std::string sku;
    std::string category;
  };
  std::vector<Known> sample;  // existing registrations whose customers probes re-register
  sample.reserve(10000);
  {
    ConflictIndex index;
    const auto load_start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
      IndexedRegistration r;
      r.vendor_id = absl::StrCat("vendor-", i % kVendors);
      r.deal_id = absl::StrCat("deal-", i);
      r.partner_id = absl::StrCat("partner-", gen.Int(1, 5000));
      r.state = i % 4 == 0 ? DealState::kApproved : DealState::kSubmitted;
      r.submit_time = t0 + absl::Seconds(static_cast<int64_t>(i));
      if (r.state == DealState::kApproved) r.expire_time = t0 + absl::Hours(24 * 90);
      const EndCustomer c = gen.Customer();
      r.customer = *prm::deal::ResolveCustomerIdentity(c);
      gen.Products(r);
      if (sample.size() < 10000 && i % std::max<size_t>(1, n / 10000) == 0) {
        sample.push_back({r.vendor_id, c, r.skus[0], r.categories[0]});
      }
      index.Upsert(std::move(r));
    }
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const long rss = RssKb();

    std::vector<double> micros;
    micros.reserve(probes);
    size_t with_conflict = 0;
    for (size_t p = 0; p < probes; ++p) {
      // Even probes re-register a known customer at its vendor (half of them for one of its
      // SKUs); odd probes are new customers.
      IndexedRegistration probe;
      probe.deal_id = absl::StrCat("probe-", p);
      EndCustomer c;
      if (p % 2 == 0) {
        const Known& known = sample[(p / 2) % sample.size()];
        probe.vendor_id = known.vendor_id;
        c = known.customer;
        if (p % 4 == 0) {
          probe.skus.push_back(known.sku);
          probe.categories.push_back(known.category);
        }
      } else {
        probe.vendor_id = absl::StrCat("vendor-", p % kVendors);
        c = gen.Customer();
      }
      gen.Products(probe);
      // Re-registrations of known customers: same name, different spelling of case and form.
      if (p % 3 == 0) c.legal_name = absl::AsciiStrToUpper(c.legal_name);
      const auto start = std::chrono::steady_clock::now();
      probe.customer = *prm::deal::ResolveCustomerIdentity(c);
      const auto matches = index.FindConflicts(probe, t0 + absl::Hours(1));
      const auto end = std::chrono::steady_clock::now();
      with_conflict += !matches.empty();
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    std::sort(micros.begin(), micros.end());
    std::printf("%9zu registrations: load %.1f s, RSS %ld MiB | conflict check p50 %.2f us, "
                "p99 %.2f us, max %.1f us over %zu probes (%zu found conflicts)\n",
                n, load_s, rss / 1024, Percentile(micros, 0.50), Percentile(micros, 0.99),
                micros.back(), probes, with_conflict);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {10'000, 100'000, 1'000'000};
  size_t probes = 20'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--sizes") {
      sizes.clear();
      for (absl::string_view s : absl::StrSplit(argv[i + 1], ',')) {
        size_t v = 0;
        if (!absl::SimpleAtoi(s, &v) || v == 0) {
          std::fprintf(stderr, "bad --sizes\n");
          return 2;
        }
        sizes.push_back(v);
      }
    } else if (flag == "--probes") {
      if (!absl::SimpleAtoi(argv[i + 1], &probes) || probes == 0) {
        std::fprintf(stderr, "bad --probes\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--sizes N,N,...] [--probes N]\n", argv[0]);
      return 2;
    }
  }
  std::printf("conflict check = ResolveCustomerIdentity + ConflictIndex::FindConflicts, %d "
              "vendors, %d SKUs in %d categories, fixed seed\n",
              kVendors, kSkus, kCategories);
  for (size_t n : sizes) RunSize(n, probes);
  return 0;
}
