// Every service binary answers --help and --version, and stops with exit code 2 and a message
// naming the setting for unknown flags, unknown PRM_* variables and bad values (SPEC §3.4).

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace prm {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct ProcessResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs `binary args` with exactly `env` as its environment.
ProcessResult Exec(const std::string& binary, const std::string& args, const std::string& env = "") {
  std::string command =
      absl::StrCat("env -i ", env, " ", BIN_DIR, "/", binary, " ", args, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class ServiceBinaryTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ServiceBinaryTest, HelpListsEverySharedSettingWithItsVariable) {
  ProcessResult run = Exec(GetParam(), "--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.output, AllOf(HasSubstr(GetParam()), HasSubstr("--grpc-listen=VALUE  (PRM_GRPC_LISTEN)"),
                                HasSubstr("(PRM_KAFKA_BROKERS)"), HasSubstr("(PRM_DATA_DIR)"),
                                HasSubstr("(PRM_JWT_SECRET_FILE)"), HasSubstr("(PRM_DRAIN_TIMEOUT)")));
}

TEST_P(ServiceBinaryTest, VersionPrintsNameAndVersion) {
  ProcessResult run = Exec(GetParam(), "--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, absl::StrCat(GetParam(), " ", PRM_VERSION, "\n"));
}

TEST_P(ServiceBinaryTest, UnknownFlagStopsWithItsName) {
  ProcessResult run = Exec(GetParam(), "--grpc-listn=127.0.0.1:1 --jwt-secret=0123456789abcdef0123456789abcdef");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--grpc-listn: unknown flag"));
}

TEST_P(ServiceBinaryTest, UnknownPrmVariableStopsWithItsName) {
  ProcessResult run = Exec(GetParam(), "--jwt-secret=0123456789abcdef0123456789abcdef", "PRM_DATA_DIRR=/tmp");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("PRM_DATA_DIRR: unknown setting"));
}

TEST_P(ServiceBinaryTest, EveryBadValueIsNamed) {
  ProcessResult run = Exec(GetParam(),
                 "--drain-timeout=soon --jwt-algorithm=ES256 --sqlite-durability=maybe "
                 "--max-message-bytes=-1",
                 "PRM_GRPC_LISTEN=nowhere");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, AllOf(HasSubstr("--drain-timeout"), HasSubstr("--jwt-algorithm"),
                                HasSubstr("--sqlite-durability"), HasSubstr("--max-message-bytes"),
                                HasSubstr("--grpc-listen: \"nowhere\" is not host:port")));
}

TEST_P(ServiceBinaryTest, MissingJwtKeyIsNamed) {
  ProcessResult run = Exec(GetParam(), "");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--jwt-secret-file (PRM_JWT_SECRET_FILE)"));
  run = Exec(GetParam(), "--jwt-algorithm=RS256");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--jwt-public-key-file (PRM_JWT_PUBLIC_KEY_FILE): is required"));
}

TEST_P(ServiceBinaryTest, TooShortSecretStopsAtStart) {
  ProcessResult run = Exec(GetParam(), "--jwt-secret=short --data-dir=/tmp/prm-binaries-test");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("cannot start"));
  EXPECT_THAT(run.output, HasSubstr("32"));
}

INSTANTIATE_TEST_SUITE_P(AllServices, ServiceBinaryTest,
                         ::testing::Values("partner-registry", "deal-registration",
                                           "concierge-routing", "forecast"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace prm
