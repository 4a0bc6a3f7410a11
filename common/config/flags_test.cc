#include "common/config/flags.h"

#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace prm {
namespace {

using ::prm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::AllOf;

struct Options {
  std::string listen = "127.0.0.1:50051";
  int64_t workers = 4;
  absl::Duration drain = absl::Seconds(20);
  bool verbose = false;
  std::string format = "json";
  std::string data_dir;
};

class FlagSetTest : public ::testing::Test {
 protected:
  FlagSetTest() : flags_("svc", "a test service") {
    flags_.String("grpc-listen", &options_.listen, "listen address");
    flags_.Int("workers", &options_.workers, "worker threads", 1, 64);
    flags_.Duration("drain-timeout", &options_.drain, "drain bound");
    flags_.Bool("verbose", &options_.verbose, "more logs");
    flags_.Choice("log-format", &options_.format, {"json", "text"}, "log format");
    flags_.String("data-dir", &options_.data_dir, "data directory");
  }

  absl::StatusOr<FlagSet::Outcome> Parse(std::vector<const char*> args,
                                         std::vector<const char*> env = {}) {
    args.insert(args.begin(), "svc");
    env.push_back(nullptr);
    return flags_.Parse(static_cast<int>(args.size()), args.data(), env.data());
  }

  Options options_;
  FlagSet flags_;
};

TEST_F(FlagSetTest, DefaultsStayWhenNothingIsGiven) {
  ASSERT_OK(Parse({}));
  EXPECT_EQ(options_.listen, "127.0.0.1:50051");
  EXPECT_EQ(options_.workers, 4);
  EXPECT_EQ(options_.drain, absl::Seconds(20));
}

TEST_F(FlagSetTest, FlagsInBothFormsAndEnvironment) {
  ASSERT_OK(Parse({"--grpc-listen", "0.0.0.0:1", "--workers=8", "--verbose"},
                  {"PRM_DRAIN_TIMEOUT=5s", "PRM_LOG_FORMAT=text", "HOME=/root"}));
  EXPECT_EQ(options_.listen, "0.0.0.0:1");
  EXPECT_EQ(options_.workers, 8);
  EXPECT_TRUE(options_.verbose);
  EXPECT_EQ(options_.drain, absl::Seconds(5));
  EXPECT_EQ(options_.format, "text");
}

TEST_F(FlagSetTest, FlagOverridesEnvironment) {
  ASSERT_OK(Parse({"--workers=2"}, {"PRM_WORKERS=9"}));
  EXPECT_EQ(options_.workers, 2);
}

TEST_F(FlagSetTest, UnknownFlagIsNamed) {
  EXPECT_THAT(Parse({"--wrokers=2"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--wrokers: unknown flag")));
}

TEST_F(FlagSetTest, UnknownPrmVariableIsNamed) {
  EXPECT_THAT(Parse({}, {"PRM_GRPC_LISTN=x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("PRM_GRPC_LISTN: unknown setting")));
}

TEST_F(FlagSetTest, EveryBadValueIsNamed) {
  auto result = Parse({"--workers=0", "--drain-timeout=soon", "--log-format=xml", "--verbose=maybe"},
                      {"PRM_WORKERS=abc"});
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("PRM_WORKERS: must be an integer"),
                                     HasSubstr("--workers: must be between 1 and 64"),
                                     HasSubstr("--drain-timeout: must be a non-negative duration"),
                                     HasSubstr("--log-format: must be one of json|text"),
                                     HasSubstr("--verbose: must be true or false"))));
}

TEST_F(FlagSetTest, RequiredSettingMustBeGiven) {
  flags_.Required("data-dir");
  EXPECT_THAT(Parse({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("--data-dir (PRM_DATA_DIR): is required")));
  ASSERT_OK(Parse({"--data-dir=/tmp/x"}));
}

TEST_F(FlagSetTest, ChecksRunAfterParsing) {
  flags_.Check([this] { return options_.workers > 10 ? "--workers: too many for json" : ""; });
  EXPECT_THAT(Parse({"--workers=12"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("too many")));
}

TEST_F(FlagSetTest, HelpAndVersion) {
  EXPECT_EQ(*Parse({"--help"}), FlagSet::Outcome::kHelp);
  EXPECT_EQ(*Parse({"--version"}), FlagSet::Outcome::kVersion);
  EXPECT_THAT(flags_.Usage(), HasSubstr("--grpc-listen=VALUE  (PRM_GRPC_LISTEN)"));
  EXPECT_THAT(flags_.Usage(), HasSubstr("[default: 20s]"));
}

TEST_F(FlagSetTest, MissingValueAndStrayArgument) {
  EXPECT_THAT(Parse({"--workers"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("--workers: needs a value")));
  EXPECT_THAT(Parse({"oops"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("oops: unexpected argument")));
}

}  // namespace
}  // namespace prm
