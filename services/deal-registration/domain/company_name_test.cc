#include "services/deal-registration/domain/company_name.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::deal {
namespace {

using ::testing::ElementsAre;

struct LabelledPair {
  bool same;
  std::string a;
  std::string b;
  int line;
};

std::vector<LabelledPair> LoadGoldenPairs() {
  std::ifstream in(PRM_DEAL_TESTDATA_DIR "/company_name_pairs.tsv");
  std::vector<LabelledPair> pairs;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const size_t t1 = line.find('\t');
    const size_t t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) {
      ADD_FAILURE() << "malformed line " << number << ": " << line;
      continue;
    }
    const std::string label = line.substr(0, t1);
    if (label != "same" && label != "diff") ADD_FAILURE() << "bad label on line " << number;
    pairs.push_back({label == "same", line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1),
                     number});
  }
  return pairs;
}

TEST(CompanyName, GoldenSetPrecisionAndRecallAtLeast98Percent) {
  const std::vector<LabelledPair> pairs = LoadGoldenPairs();
  ASSERT_GE(pairs.size(), 200u);
  int tp = 0, fp = 0, fn = 0, tn = 0;
  for (const LabelledPair& p : pairs) {
    const bool predicted = SameCompanyName(p.a, p.b);
    if (predicted && p.same) ++tp;
    if (predicted && !p.same) ++fp;
    if (!predicted && p.same) ++fn;
    if (!predicted && !p.same) ++tn;
    if (predicted != p.same) {
      std::printf("  miss (line %d, labelled %s): \"%s\" [%s] vs \"%s\" [%s]\n", p.line,
                  p.same ? "same" : "diff", p.a.c_str(), NormalizeCompanyName(p.a).key.c_str(),
                  p.b.c_str(), NormalizeCompanyName(p.b).key.c_str());
    }
  }
  const double precision = tp + fp == 0 ? 1.0 : static_cast<double>(tp) / (tp + fp);
  const double recall = tp + fn == 0 ? 1.0 : static_cast<double>(tp) / (tp + fn);
  std::printf("company-name golden set: %zu pairs (%d same, %d different): TP=%d FP=%d FN=%d "
              "TN=%d precision=%.4f recall=%.4f\n",
              pairs.size(), tp + fn, fp + tn, tp, fp, fn, tn, precision, recall);
  EXPECT_GE(tp + fn, 100);
  EXPECT_GE(fp + tn, 80);
  EXPECT_GE(precision, 0.98);
  EXPECT_GE(recall, 0.98);
}

TEST(CompanyName, SpecGoldenPairsHold) {
  EXPECT_TRUE(SameCompanyName("ACME, Inc.", "Acme Incorporated"));
  EXPECT_FALSE(SameCompanyName("Ramesh Traders", "Ganesh Traders"));
  EXPECT_FALSE(SameCompanyName("SIA Rimi Latvia", "SIA Maxima Latvija"));
  EXPECT_FALSE(SameCompanyName("A-B-C Company", "XYZ Company"));
  EXPECT_FALSE(SameCompanyName("A-B-C Company", "Company"));
}

TEST(CompanyName, KeyAndTokensOfTypicalNames) {
  const NormalizedCompanyName n = NormalizeCompanyName("Bäckerei Schäfer GmbH & Co. KG");
  EXPECT_EQ(n.key, "backereischafer");
  EXPECT_THAT(n.tokens, ElementsAre("backerei", "schafer"));
  EXPECT_THAT(n.legal_forms, ElementsAre("gmbh", "co", "kg"));
  EXPECT_EQ(NormalizeCompanyName("I.B.M.").key, "ibm");
  EXPECT_EQ(NormalizeCompanyName("Żabka Polska Sp. z o.o.").key, "zabkapolska");
  EXPECT_THAT(NormalizeCompanyName("Żabka Polska Sp. z o.o.").legal_forms, ElementsAre("sp zoo"));
}

TEST(CompanyName, TransliteratesCyrillic) {
  EXPECT_EQ(NormalizeCompanyName("ООО Ромашка").key, "romashka");
  EXPECT_EQ(NormalizeCompanyName("ООО Ромашка").key, NormalizeCompanyName("OOO Romashka").key);
  EXPECT_EQ(NormalizeCompanyName("Щука").key, "shchuka");
}

TEST(CompanyName, StripsLatinDiacritics) {
  EXPECT_EQ(NormalizeCompanyName("ĀČĒĢĪĶĻŅŠŪŽ ąčęėįšųūž łńóśźż ß æøå ğış őű ţșț").key,
            "acegiklnsuzaceeisuuzlnoszzssaeoagisoutst");
}

TEST(CompanyName, NeverReducesToNothingOrABareLegalForm) {
  EXPECT_EQ(NormalizeCompanyName("Company").key, "co");
  EXPECT_EQ(NormalizeCompanyName("Inc").key, "inc");
  EXPECT_EQ(NormalizeCompanyName("Company Limited").key, "coltd");
  EXPECT_EQ(NormalizeCompanyName("Global Solutions Ltd").key, "globalsolutionsltd");
  EXPECT_EQ(NormalizeCompanyName("A-B-C Company").key, "abc");
  EXPECT_FALSE(SameCompanyName("The Company", "A-B-C Company"));
}

TEST(CompanyName, NameWithoutLettersHasEmptyKeyThatMatchesNothing) {
  EXPECT_EQ(NormalizeCompanyName(" -- , ").key, "");
  EXPECT_FALSE(SameCompanyName("--", "..."));
}

TEST(CompanyName, InvalidUtf8ActsAsSeparator) {
  EXPECT_EQ(NormalizeCompanyName("Acme\xff\xfe Corp").key, "acme");
  EXPECT_EQ(NormalizeCompanyName("Ac\xc3").key, "ac");
}

}  // namespace
}  // namespace prm::deal
