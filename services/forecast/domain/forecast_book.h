#pragma once

// The bookkeeping of stored forecasts (SPEC §7.7): which of a vendor's series are stale since
// their last computation, a per-vendor generation that tells whether a stored forecast still
// reflects every change, and the version and content digest of each forecast published as
// ForecastUpdated, so that an unchanged forecast is not published again and versions only
// increase. Plain C++; not thread-safe (the service serializes); deterministic, so the command
// log's replay rebuilds the published versions exactly.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace prm::forecast {

class ForecastBook {
 public:
  // What changed at a vendor since its series were last taken for recomputation.
  struct Stale {
    int64_t generation = 0;      // the vendor's generation when taken
    bool every_series = false;   // settings, rates, partner snapshots, deal outcomes
    std::set<std::string> partners;  // their own series and the segments they are or were in
  };

  // Every series of the vendor is stale.
  void MarkVendor(const std::string& vendor_id);
  // The series a change of one partner touches are stale: the partner's own, the segments it is
  // or was in and the vendor total. "" = an account no partner owns: the vendor total only.
  void MarkPartner(const std::string& vendor_id, const std::string& partner_id);

  // Whether every series of the vendor is stale already (a MarkVendor not taken yet).
  bool EverySeriesStale(const std::string& vendor_id) const;

  // Counts the vendor's changes: a stored forecast computed at an older generation may miss one.
  int64_t Generation(const std::string& vendor_id) const;

  // The stale marks of the vendors ready for recomputation, by vendor id; a refresher calls it
  // once a round. With `patience` 0, every vendor with marks. Otherwise a vendor whose changes
  // are still arriving (its generation moved since the previous round) waits, up to `patience`
  // rounds in a row, so that a burst of sales is recomputed once it settles rather than every
  // round; a vendor seen for the first time waits one round.
  std::map<std::string, Stale> TakeStale(int patience = 0);

  // The version to publish a forecast of `series` (series id and granularity) whose content has
  // `digest`: one more than the last published one, or nullopt when that one had the same
  // digest (nothing to publish).
  std::optional<int64_t> NextVersion(const std::pair<std::string, int>& series,
                                     uint64_t digest) const;
  // Records a published forecast (live and on replay).
  void Published(const std::pair<std::string, int>& series, int64_t version, uint64_t digest);

 private:
  // A vendor with marks passed over by TakeStale: its generation then, and the rounds in a row.
  struct Unsettled {
    int64_t generation = 0;
    int rounds = 0;
  };
  struct PublishedForecast {
    int64_t version = 0;
    uint64_t digest = 0;
  };

  std::map<std::string, int64_t> generations_;
  std::map<std::string, Stale> stale_;
  std::map<std::string, Unsettled> unsettled_;
  std::map<std::pair<std::string, int>, PublishedForecast> published_;
};

}  // namespace prm::forecast
