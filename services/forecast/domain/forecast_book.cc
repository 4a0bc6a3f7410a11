#include "services/forecast/domain/forecast_book.h"

#include <algorithm>

namespace prm::forecast {

void ForecastBook::MarkVendor(const std::string& vendor_id) {
  ++generations_[vendor_id];
  Stale& stale = stale_[vendor_id];
  stale.every_series = true;
  stale.partners.clear();
}

void ForecastBook::MarkPartner(const std::string& vendor_id, const std::string& partner_id) {
  ++generations_[vendor_id];
  Stale& stale = stale_[vendor_id];
  if (!stale.every_series && !partner_id.empty()) stale.partners.insert(partner_id);
}

bool ForecastBook::EverySeriesStale(const std::string& vendor_id) const {
  auto it = stale_.find(vendor_id);
  return it != stale_.end() && it->second.every_series;
}

int64_t ForecastBook::Generation(const std::string& vendor_id) const {
  auto it = generations_.find(vendor_id);
  return it == generations_.end() ? 0 : it->second;
}

std::map<std::string, ForecastBook::Stale> ForecastBook::TakeStale(int patience) {
  std::map<std::string, Stale> taken;
  for (auto it = stale_.begin(); it != stale_.end();) {
    const int64_t generation = Generation(it->first);
    auto [unsettled, first_look] = unsettled_.try_emplace(it->first, Unsettled{generation, 0});
    const bool settled = !first_look && unsettled->second.generation == generation;
    if (settled || unsettled->second.rounds >= patience) {
      it->second.generation = generation;
      taken.emplace(it->first, std::move(it->second));
      unsettled_.erase(unsettled);
      it = stale_.erase(it);
      continue;
    }
    if (!first_look) unsettled->second = {generation, unsettled->second.rounds + 1};
    ++it;
  }
  return taken;
}

std::optional<int64_t> ForecastBook::NextVersion(const std::pair<std::string, int>& series,
                                                 uint64_t digest) const {
  auto it = published_.find(series);
  if (it == published_.end()) return 1;
  if (it->second.digest == digest) return std::nullopt;
  return it->second.version + 1;
}

void ForecastBook::Published(const std::pair<std::string, int>& series, int64_t version,
                             uint64_t digest) {
  PublishedForecast& last = published_[series];
  last.version = std::max(last.version, version);
  last.digest = digest;
}

}  // namespace prm::forecast
