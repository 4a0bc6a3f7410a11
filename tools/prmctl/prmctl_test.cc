#include "tools/prmctl/prmctl.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/auth/jwt.h"
#include "common/testing/status_matchers.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm::prmctl {
namespace {

using ::prm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

constexpr char kSecret[] = "prmctl-test-secret-0123456789abcdefgh";

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class PrmctlTest : public ::testing::Test {
 protected:
  Outcome Prmctl(std::vector<const char*> args, std::vector<const char*> env = {}) {
    args.insert(args.begin(), "prmctl");
    args.push_back(nullptr);
    env.push_back(nullptr);
    std::ostringstream out, err;
    CommandContext context{.env = env.data(), .out = out, .err = err, .clock = clock_,
                           .version = "9.8.7"};
    int code = RunPrmctl(static_cast<int>(args.size()) - 1, args.data(), context);
    return {code, out.str(), err.str()};
  }

  absl::StatusOr<auth::Principal> VerifyOutput(const Outcome& run, std::string issuer = "prm-dev",
                                               std::string audience = "prm") {
    EXPECT_EQ(run.code, kExitOk) << run.err;
    EXPECT_TRUE(absl::EndsWith(run.out, "\n"));
    auto verifier = auth::TokenVerifier::Create({.algorithm = "HS256",
                                                 .hs256_secret = kSecret,
                                                 .issuer = std::move(issuer),
                                                 .audience = std::move(audience)},
                                                clock_);
    if (!verifier.ok()) return verifier.status();
    return verifier->Verify(run.out.substr(0, run.out.size() - 1));
  }

  FakeClock clock_;
};

TEST_F(PrmctlTest, TokenVerifiesWithTokenVerifier) {
  Outcome run = Prmctl({"token", "--role=partner_user", "--vendor=v1,v2", "--partner=p1",
                    "--subject=alice", "--ttl=2h", "--jwt-secret", kSecret});
  auto principal = VerifyOutput(run);
  ASSERT_OK(principal);
  EXPECT_EQ(*principal, (auth::Principal{.subject = "alice",
                                         .role = auth::Role::kPartnerUser,
                                         .vendor_ids = {"v1", "v2"},
                                         .partner_id = "p1"}));
  EXPECT_THAT(run.err, IsEmpty());
  EXPECT_THAT(run.out, MatchesRegex("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\n"));
}

TEST_F(PrmctlTest, TokenLivesForTtl) {
  Outcome run = Prmctl({"token", "--role=channel_manager", "--vendor=v1", "--ttl=10m"},
                   {"PRM_JWT_SECRET=prmctl-test-secret-0123456789abcdefgh"});
  ASSERT_OK(VerifyOutput(run));
  clock_.Advance(absl::Minutes(10) + absl::Seconds(30));
  EXPECT_THAT(VerifyOutput(run),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
}

TEST_F(PrmctlTest, EveryRoleWithItsScope) {
  struct Case {
    std::vector<const char*> flags;
    auth::Principal expected;
  };
  const std::vector<Case> cases = {
      {{"--role=vendor_admin", "--vendor=v1, v2"},
       {.subject = "dev-user", .role = auth::Role::kVendorAdmin, .vendor_ids = {"v1", "v2"}}},
      {{"--role=concierge", "--vendor=v1", "--worker=w9"},
       {.subject = "dev-user", .role = auth::Role::kConcierge, .vendor_ids = {"v1"},
        .worker_id = "w9"}},
      {{"--role=erp_integration", "--vendor=v3"},
       {.subject = "dev-user", .role = auth::Role::kErpIntegration, .vendor_ids = {"v3"}}},
      {{"--role=service", "--subject=forecast"},
       {.subject = "forecast", .role = auth::Role::kService}},
  };
  for (const Case& c : cases) {
    std::vector<const char*> args = {"token", "--jwt-secret", kSecret};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    auto principal = VerifyOutput(Prmctl(args));
    ASSERT_OK(principal);
    EXPECT_EQ(*principal, c.expected);
  }
}

TEST_F(PrmctlTest, SecretFileIsReadLikeTheServicesReadIt) {
  const std::string path = ::testing::TempDir() + "/prmctl_test_dev_secret";
  {
    std::ofstream file(path, std::ios::trunc);
    file << kSecret << "\n";  // as `scripts/dev` writes it
  }
  Outcome run = Prmctl({"token", "--role=service", "--jwt-secret=ignored-when-a-file-is-given",
                        "--jwt-secret-file", path.c_str()});
  EXPECT_OK(VerifyOutput(run));
  run = Prmctl({"token", "--role=service"}, {("PRM_JWT_SECRET_FILE=" + path).c_str()});
  EXPECT_OK(VerifyOutput(run));
  std::remove(path.c_str());
}

TEST_F(PrmctlTest, IssuerAndAudienceFromEnvironmentAndFlagsWin) {
  Outcome run = Prmctl({"token", "--role=service", "--jwt-audience=crm"},
                   {"PRM_JWT_SECRET=prmctl-test-secret-0123456789abcdefgh",
                    "PRM_JWT_ISSUER=prm-staging", "PRM_JWT_AUDIENCE=ignored",
                    "PRM_GRPC_LISTEN=0.0.0.0:1"});  // a service setting: not prmctl's business
  EXPECT_OK(VerifyOutput(run, "prm-staging", "crm"));
}

TEST_F(PrmctlTest, UsageErrorsExitWithTwo) {
  struct Case {
    std::vector<const char*> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"token", "--jwt-secret", kSecret}, "--role (PRM_ROLE): is required"},
      {{"token", "--role=admin", "--jwt-secret", kSecret}, "--role: must be one of"},
      {{"token", "--role=service"}, "--jwt-secret-file (PRM_JWT_SECRET_FILE) or --jwt-secret"},
      {{"token", "--role=service", "--jwt-secret-file=/nonexistent/prm-secret"},
       "--jwt-secret-file: cannot read /nonexistent/prm-secret"},
      {{"token", "--role=service", "--jwt-secret=short"}, "at least 32 bytes"},
      {{"token", "--role=vendor_admin", "--vendor=v1,,v2", "--jwt-secret", kSecret},
       "--vendor: empty vendor id"},
      {{"token", "--role=partner_user", "--vendor=v1", "--jwt-secret", kSecret},
       "partner is required"},
      {{"token", "--role=channel_manager", "--vendor=v1,v2", "--jwt-secret", kSecret},
       "exactly one vendor"},
      {{"token", "--role=service", "--ttl=0s", "--jwt-secret", kSecret}, "--ttl: must be at least"},
      {{"token", "--role=service", "--ttl=soon", "--jwt-secret", kSecret}, "--ttl"},
      {{"token", "--role=service", "--colour=red", "--jwt-secret", kSecret},
       "--colour: unknown flag"},
      {{"token", "extra", "--role=service", "--jwt-secret", kSecret}, "extra: unexpected"},
      {{"tokens"}, "unknown command \"tokens\""},
      {{}, "Usage: prmctl <noun> <verb>"},
  };
  for (const Case& c : cases) {
    Outcome run = Prmctl(c.args);
    EXPECT_EQ(run.code, kExitUsage) << c.message;
    EXPECT_THAT(run.err, HasSubstr(c.message));
    EXPECT_THAT(run.out, IsEmpty()) << c.message;
  }
}

TEST_F(PrmctlTest, ErrorsNeverPrintTheSecret) {
  Outcome run = Prmctl({"token", "--role=partner_user", "--jwt-secret", kSecret});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr(kSecret)));
}

TEST_F(PrmctlTest, HelpAndVersion) {
  Outcome top = Prmctl({"--help"});
  EXPECT_EQ(top.code, kExitOk);
  EXPECT_THAT(top.out, HasSubstr("token"));
  Outcome command = Prmctl({"token", "--help"});
  EXPECT_EQ(command.code, kExitOk);
  EXPECT_THAT(command.out, HasSubstr("--role=VALUE"));
  EXPECT_THAT(command.out, HasSubstr("PRM_JWT_SECRET"));
  EXPECT_EQ(Prmctl({"help", "token"}).out, command.out);
  Outcome version = Prmctl({"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_EQ(version.out, "prmctl 9.8.7\n");
  EXPECT_EQ(Prmctl({"token", "--version"}).out, "prmctl 9.8.7\n");
}

}  // namespace
}  // namespace prm::prmctl
