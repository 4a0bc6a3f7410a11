#include "services/partner-registry/domain/partner_finder.h"

#include <map>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::partner {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;

const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600);

FinderCandidate Candidate(std::string id, int tier_rank) {
  FinderCandidate c;
  c.vendor_id = "v1";
  c.partner_id = std::move(id);
  c.display_name = c.partner_id;
  c.types = {PartnerType::kReseller};
  c.country_codes = {"LV"};
  c.sales_regions = {"EMEA"};
  c.verticals = {"healthcare"};
  c.tier_id = "t" + std::to_string(tier_rank);
  c.tier_rank = tier_rank;
  c.tier_count = 3;
  return c;
}

std::vector<std::string> Ids(const LeadMatches& m) {
  std::vector<std::string> ids;
  for (const PartnerMatch& p : m.matches) ids.push_back(p.partner_id);
  return ids;
}

// Only the tier part counts, so a partner's weight is tier_rank / 3.
FindOptions TierOnly(FindMode mode, uint64_t seed = 7) {
  FindOptions o;
  o.mode = mode;
  o.weights = ScoreWeights{0, 1, 0, 0, 0};
  o.seed = seed;
  o.max_results = 1;
  return o;
}

TEST(PartnerFinder, FiltersOnEveryLeadField) {
  PartnerFinder f;
  FinderCandidate a = Candidate("a", 1);
  FinderCandidate b = Candidate("b", 3);
  b.country_codes = {"EE"};
  FinderCandidate c = Candidate("c", 2);
  c.verticals = {"retail"};
  FinderCandidate d = Candidate("d", 2);
  d.types = {PartnerType::kMsp};
  FinderCandidate e = Candidate("e", 3);
  e.competencies = {{"cloud", 2, 3, kNow + absl::Hours(1)}};
  FinderCandidate x = Candidate("x", 3);
  x.competencies = {{"cloud", 3, 3, kNow}};  // stopped counting at kNow
  FinderCandidate other_vendor = Candidate("z", 3);
  other_vendor.vendor_id = "v2";
  for (const auto& c : {a, b, c, d, e, x, other_vendor}) f.Upsert(c);

  auto find = [&](Lead lead) {
    auto r = f.Find("v1", {lead}, FindOptions{}, kNow);
    EXPECT_THAT(r.status(), IsOk());
    std::vector<std::string> ids = Ids(r->at(0));
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(find(Lead{}), ElementsAre("a", "b", "c", "d", "e", "x"));
  EXPECT_THAT(find(Lead{.country_code = "EE"}), ElementsAre("b"));
  EXPECT_THAT(find(Lead{.vertical = "retail"}), ElementsAre("c"));
  EXPECT_THAT(find(Lead{.types = {PartnerType::kMsp, PartnerType::kIsv}}), ElementsAre("d"));
  EXPECT_THAT(find(Lead{.min_tier_rank = 3}), ElementsAre("b", "e", "x"));
  EXPECT_THAT(find(Lead{.required_competencies = {{"cloud", 2}}}), ElementsAre("e"));
  EXPECT_THAT(find(Lead{.required_competencies = {{"cloud", 3}}}), ElementsAre());
  EXPECT_THAT(find(Lead{.sales_region = "APAC"}), ElementsAre());
  EXPECT_THAT(find(Lead{.excluded_partner_ids = {"a", "b", "c"}}), ElementsAre("d", "e", "x"));
}

TEST(PartnerFinder, RankedScoreCarriesItsParts) {
  PartnerFinder f;
  FinderCandidate a = Candidate("a", 3);
  a.win_rate = 0.5;
  a.trailing_revenue = 200;
  a.open_deal_count = 4;
  a.competencies = {{"cloud", 3, 3, absl::InfiniteFuture()}};
  a.category_shares = {{"storage", 0.5}};
  FinderCandidate b = Candidate("b", 1);
  b.trailing_revenue = 100;
  b.competencies = {{"cloud", 1, 3, absl::InfiniteFuture()}};
  f.Upsert(a);
  f.Upsert(b);
  Lead lead{.lead_id = "L1", .product_category = "storage",
            .required_competencies = {{"cloud", 1}}};
  auto r = f.Find("v1", {lead}, FindOptions{}, kNow);
  ASSERT_THAT(r.status(), IsOk());
  const LeadMatches& m = r->at(0);
  EXPECT_EQ(m.lead_id, "L1");
  EXPECT_EQ(m.eligible_count, 2);
  ASSERT_EQ(m.matches.size(), 2u);
  const PartnerMatch& top = m.matches[0];
  EXPECT_EQ(top.partner_id, "a");
  EXPECT_DOUBLE_EQ(top.parts.competency_fit, 0.35 * (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(top.parts.tier, 0.20 * 1.0);
  EXPECT_DOUBLE_EQ(top.parts.win_rate, 0.20 * 0.5);
  EXPECT_DOUBLE_EQ(top.parts.velocity, 0.15 * 1.0);
  EXPECT_DOUBLE_EQ(top.parts.load, 0.0);
  EXPECT_DOUBLE_EQ(top.score, top.parts.Sum());
  const PartnerMatch& second = m.matches[1];
  EXPECT_DOUBLE_EQ(second.parts.competency_fit, 0.35 * (1.0 / 3.0) / 2);
  EXPECT_DOUBLE_EQ(second.parts.velocity, 0.15 * 0.5);
  EXPECT_DOUBLE_EQ(second.parts.load, 0.10);
  EXPECT_DOUBLE_EQ(second.selection_probability, 0);
}

TEST(PartnerFinder, RankedTiesBreakByPartnerId) {
  PartnerFinder f;
  for (const char* id : {"c", "a", "b"}) f.Upsert(Candidate(id, 2));
  auto r = f.Find("v1", {Lead{}}, FindOptions{}, kNow);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_THAT(Ids(r->at(0)), ::testing::ElementsAre("a", "b", "c"));
}

std::map<std::string, int> FirstDraws(const PartnerFinder& f, int leads, uint64_t seed) {
  std::vector<Lead> batch(static_cast<size_t>(leads));
  auto r = f.Find("v1", batch, TierOnly(FindMode::kWeightedRandom, seed), kNow);
  EXPECT_THAT(r.status(), IsOk());
  std::map<std::string, int> counts;
  for (const LeadMatches& m : *r) counts[m.matches.at(0).partner_id]++;
  return counts;
}

TEST(PartnerFinder, WeightedDrawsFollowWeightsWithinTwoPercent) {
  PartnerFinder f;
  f.Upsert(Candidate("a", 1));  // weight 1/3
  f.Upsert(Candidate("b", 2));  // weight 2/3
  f.Upsert(Candidate("c", 3));  // weight 1
  auto counts = FirstDraws(f, 10'000, 42);
  EXPECT_NEAR(counts["a"] / 10'000.0, 1.0 / 6.0, 0.02);
  EXPECT_NEAR(counts["b"] / 10'000.0, 2.0 / 6.0, 0.02);
  EXPECT_NEAR(counts["c"] / 10'000.0, 3.0 / 6.0, 0.02);
  auto r = f.Find("v1", {Lead{}}, TierOnly(FindMode::kWeightedRandom), kNow);
  ASSERT_THAT(r.status(), IsOk());
  const PartnerMatch& m = r->at(0).matches.at(0);
  EXPECT_DOUBLE_EQ(m.selection_probability, m.tier_rank / 6.0);
}

TEST(PartnerFinder, EqualWeightsGiveEqualShares) {
  PartnerFinder f;
  for (const char* id : {"a", "b", "c", "d"}) f.Upsert(Candidate(id, 2));
  auto counts = FirstDraws(f, 10'000, 5);
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [id, n] : counts) EXPECT_NEAR(n / 10'000.0, 0.25, 0.02) << id;
}

TEST(PartnerFinder, FixedSeedGivesIdenticalResults) {
  PartnerFinder f;
  for (int i = 0; i < 50; ++i) f.Upsert(Candidate("p" + std::to_string(i), 1 + i % 3));
  std::vector<Lead> batch(20);
  FindOptions o = TierOnly(FindMode::kWeightedRandom, 1234);
  o.max_results = 5;
  auto first = f.Find("v1", batch, o, kNow);
  auto second = f.Find("v1", batch, o, kNow);
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_THAT(second.status(), IsOk());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(Ids(first->at(i)), Ids(second->at(i)));
    EXPECT_EQ(first->at(i).matches.size(), 5u);
  }
  o.seed = 4321;
  auto other = f.Find("v1", batch, o, kNow);
  ASSERT_THAT(other.status(), IsOk());
  bool differs = false;
  for (size_t i = 0; i < batch.size(); ++i) differs |= Ids(first->at(i)) != Ids(other->at(i));
  EXPECT_TRUE(differs);
}

TEST(PartnerFinder, WeightedDrawIsWithoutReplacement) {
  PartnerFinder f;
  f.Upsert(Candidate("a", 3));
  f.Upsert(Candidate("b", 1));
  FindOptions o = TierOnly(FindMode::kWeightedRandom);
  o.max_results = 5;
  auto r = f.Find("v1", {Lead{}}, o, kNow);
  ASSERT_THAT(r.status(), IsOk());
  auto ids = Ids(r->at(0));
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ::testing::ElementsAre("a", "b"));
}

TEST(PartnerFinder, ExcludedPartnerIsNeverDrawn) {
  PartnerFinder f;
  f.Upsert(Candidate("declined", 3));
  f.Upsert(Candidate("b", 1));
  std::vector<Lead> batch(1000, Lead{.excluded_partner_ids = {"declined"}});
  auto r = f.Find("v1", batch, TierOnly(FindMode::kWeightedRandom), kNow);
  ASSERT_THAT(r.status(), IsOk());
  for (const LeadMatches& m : *r) {
    ASSERT_EQ(m.matches.size(), 1u);
    EXPECT_EQ(m.matches[0].partner_id, "b");
  }
}

TEST(PartnerFinder, UpsertReplacesAndRemoveDrops) {
  PartnerFinder f;
  f.Upsert(Candidate("a", 1));
  FinderCandidate moved = Candidate("a", 1);
  moved.country_codes = {"EE"};
  f.Upsert(moved);
  EXPECT_EQ(f.size(), 1u);
  auto lv = f.Find("v1", {Lead{.country_code = "LV"}}, FindOptions{}, kNow);
  ASSERT_THAT(lv.status(), IsOk());
  EXPECT_EQ(lv->at(0).eligible_count, 0);
  f.Remove("v1", "a");
  auto all = f.Find("v1", {Lead{}}, FindOptions{}, kNow);
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_EQ(all->at(0).eligible_count, 0);
}

TEST(PartnerFinder, CompactionKeepsTheLiveCandidates) {
  PartnerFinder f;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1500; ++i) f.Upsert(Candidate("p" + std::to_string(i), 1));
  }
  EXPECT_EQ(f.size(), 1500u);
  auto r = f.Find("v1", {Lead{.country_code = "LV"}}, FindOptions{}, kNow);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->at(0).eligible_count, 1500);
}

TEST(PartnerFinder, InvalidRequestIsInvalidArgument) {
  PartnerFinder f;
  FindOptions o;
  o.max_results = 0;
  o.weights = ScoreWeights{0, 0, 0, 0, 0};
  auto r = f.Find("v1", {Lead{.country_code = "XX"}}, o, kNow);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   ::testing::AllOf(::testing::HasSubstr("max_results"),
                                                    ::testing::HasSubstr("weights"),
                                                    ::testing::HasSubstr("leads[0].country_code"))));
  EXPECT_THAT(f.Find("v1", {}, FindOptions{}, kNow).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace prm::partner
