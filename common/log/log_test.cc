#include "common/log/log.h"

#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace prm::logging {
namespace {

using ::testing::ContainsRegex;

// A logger writing through the JSON formatter into a string stream.
struct CapturedLogger {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger;

  CapturedLogger() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_formatter(MakeJsonFormatter("partner-registry"));
    logger->set_level(spdlog::level::trace);
  }

  nlohmann::json OnlyLine() {
    std::string text = out.str();
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "expected exactly one line: " << text;
    return nlohmann::json::parse(text);
  }
};

TEST(JsonFormatter, WritesOneParsableObjectWithEscapedMessage) {
  CapturedLogger captured;
  const std::string message = "say \"hi\"\n\tto Zoë, 日本, 🙂 \\ done";
  captured.logger->warn("{}", message);

  nlohmann::json line = captured.OnlyLine();
  EXPECT_EQ(line["msg"], message);
  EXPECT_EQ(line["level"], "warn");
  EXPECT_EQ(line["service"], "partner-registry");
  EXPECT_THAT(line["ts"].get<std::string>(),
              ContainsRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"));
  EXPECT_FALSE(line.contains("request_id"));
  EXPECT_FALSE(line.contains("trace_id"));
}

TEST(JsonFormatter, ReplacesInvalidUtf8InsteadOfThrowing) {
  CapturedLogger captured;
  captured.logger->error("bad \xff\xfe bytes");

  nlohmann::json line = captured.OnlyLine();
  EXPECT_EQ(line["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  EXPECT_EQ(line["level"], "error");
}

TEST(JsonFormatter, FieldsComeInAFixedOrder) {
  CapturedLogger captured;
  ScopedLogContext context("req-1", "4bf92f3577b34da6a3ce929d0e0e4736");
  captured.logger->info("x");
  EXPECT_THAT(captured.out.str(),
              ContainsRegex("^\\{\"ts\":\"[^\"]+\",\"level\":\"info\",\"service\":\"partner-"
                            "registry\",\"msg\":\"x\",\"request_id\":\"req-1\",\"trace_id\":"
                            "\"4bf92f3577b34da6a3ce929d0e0e4736\"\\}\n$"));
}

TEST(ScopedLogContext, AddsFieldsAndRestoresTheOuterScope) {
  CapturedLogger captured;
  {
    ScopedLogContext outer("outer-request", "");
    {
      ScopedLogContext inner("inner-request", "trace-b");
      EXPECT_EQ(CurrentRequestId(), "inner-request");
      EXPECT_EQ(CurrentTraceId(), "trace-b");
    }
    EXPECT_EQ(CurrentRequestId(), "outer-request");
    EXPECT_EQ(CurrentTraceId(), "");
    captured.logger->info("in outer");
  }
  EXPECT_EQ(CurrentRequestId(), "");

  nlohmann::json line = captured.OnlyLine();
  EXPECT_EQ(line["request_id"], "outer-request");
  EXPECT_FALSE(line.contains("trace_id")) << "an empty trace id is omitted";
}

TEST(ScopedLogContext, EscapesClientSuppliedValues) {
  CapturedLogger captured;
  ScopedLogContext context("a\"b\nc", "");
  captured.logger->info("m");
  EXPECT_EQ(captured.OnlyLine()["request_id"], "a\"b\nc");
}

TEST(LogLevelNames, EveryNameIsAcceptedByInitLogging) {
  for (const std::string& level : LogLevelNames()) {
    InitLogging("log-test", level);
    EXPECT_EQ(spdlog::default_logger()->name(), "log-test");
  }
  InitLogging("log-test", "warn");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
}

TEST(InitLogging, ProtobufMessagesBecomeJsonLinesAndAPeersBadUtf8IsDebug) {
  // A StringValue whose string holds the byte 0xFF: protobuf logs an ERROR while parsing it.
  const std::string bad_utf8("\x0a\x01\xff", 3);
  google::protobuf::StringValue value;

  InitLogging("log-test", "info");
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(value.ParseFromString(bad_utf8));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");

  InitLogging("log-test", "debug");
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(value.ParseFromString(bad_utf8));
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  const nlohmann::json line = nlohmann::json::parse(out);
  EXPECT_EQ(line["level"], "debug");
  EXPECT_THAT(line["msg"].get<std::string>(), ContainsRegex("^protobuf .*invalid UTF-8"));
}

TEST(InitLoggingDeathTest, AbortsOnAnUnknownLevel) {
  EXPECT_DEATH(InitLogging("log-test", "verbose"), "unknown log level \"verbose\"");
}

}  // namespace
}  // namespace prm::logging
