#include "common/log/log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <utility>

#include "google/protobuf/stubs/logging.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace prm::logging {
namespace {

struct LogContext {
  std::string request_id;
  std::string trace_id;
};

LogContext& ThreadLogContext() {
  thread_local LogContext context;
  return context;
}

// protobuf's own messages as JSON lines too. A string field with invalid UTF-8 in bytes a peer
// sent is logged by protobuf at ERROR while parsing; the peer gets INVALID_ARGUMENT for it
// (server/limits.h), so that one is debug.
void LogProtobufMessage(google::protobuf::LogLevel level, const char* filename, int line,
                        const std::string& message) {
  spdlog::level::level_enum ours = spdlog::level::warn;
  if (level == google::protobuf::LOGLEVEL_INFO ||
      message.find("when parsing a protocol buffer") != std::string::npos) {
    ours = spdlog::level::debug;
  } else if (level == google::protobuf::LOGLEVEL_FATAL) {
    ours = spdlog::level::critical;
  }
  spdlog::log(ours, "protobuf {}:{}: {}", filename, line, message);
}

// "2026-01-01T00:00:00.123Z"
void AppendTimestamp(std::chrono::system_clock::time_point time, std::string& out) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                              tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  out.append(buf, static_cast<size_t>(n));
}

// Appends `value` as a JSON string literal (quoted and escaped).
void AppendJsonString(std::string_view value, std::string& out) {
  out += nlohmann::json(value).dump(-1, ' ', /*ensure_ascii=*/false,
                                    nlohmann::json::error_handler_t::replace);
}

void AppendField(std::string_view key, std::string_view value, std::string& out) {
  out += ",\"";
  out += key;
  out += "\":";
  AppendJsonString(value, out);
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(160 + msg.payload.size());
    line += "{\"ts\":\"";
    AppendTimestamp(msg.time, line);
    line += "\",\"level\":\"";
    line += LevelName(msg.level);
    line += '"';
    AppendField("service", service_, line);
    AppendField("msg", std::string_view(msg.payload.data(), msg.payload.size()), line);
    const LogContext& context = ThreadLogContext();
    if (!context.request_id.empty()) AppendField("request_id", context.request_id, line);
    if (!context.trace_id.empty()) AppendField("trace_id", context.trace_id, line);
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(service_);
  }

 private:
  const std::string service_;
};

}  // namespace

const std::vector<std::string>& LogLevelNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "trace", "debug", "info", "warn", "error", "critical", "off"};
  return *kNames;
}

std::unique_ptr<spdlog::formatter> MakeJsonFormatter(std::string service) {
  return std::make_unique<JsonFormatter>(std::move(service));
}

void InitLogging(std::string_view service, std::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::off;
  bool known = false;
  for (int l = spdlog::level::trace; l <= spdlog::level::off; ++l) {
    const auto candidate = static_cast<spdlog::level::level_enum>(l);
    if (LevelName(candidate) == level) {
      parsed = candidate;
      known = true;
    }
  }
  if (!known) {
    std::fprintf(stderr, "InitLogging: unknown log level \"%.*s\"\n",
                 static_cast<int>(level.size()), level.data());
    std::abort();
  }
  auto logger = std::make_shared<spdlog::logger>(
      std::string(service), std::make_shared<spdlog::sinks::stdout_sink_mt>());
  logger->set_formatter(MakeJsonFormatter(std::string(service)));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  google::protobuf::SetLogHandler(&LogProtobufMessage);
}

ScopedLogContext::ScopedLogContext(std::string_view request_id, std::string_view trace_id) {
  LogContext& context = ThreadLogContext();
  previous_request_id_ = std::exchange(context.request_id, std::string(request_id));
  previous_trace_id_ = std::exchange(context.trace_id, std::string(trace_id));
}

ScopedLogContext::~ScopedLogContext() {
  LogContext& context = ThreadLogContext();
  context.request_id = std::move(previous_request_id_);
  context.trace_id = std::move(previous_trace_id_);
}

std::string_view CurrentRequestId() { return ThreadLogContext().request_id; }
std::string_view CurrentTraceId() { return ThreadLogContext().trace_id; }

}  // namespace prm::logging
