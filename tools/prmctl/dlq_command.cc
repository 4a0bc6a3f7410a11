#include "tools/prmctl/dlq_command.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/config/flags.h"
#include "common/kafka/producer.h"
#include "nlohmann/json.hpp"
#include "tools/prmctl/command_flags.h"
#include "tools/prmctl/dead_letters.h"
#include "tools/prmctl/render.h"
#include "tools/prmctl/topic_reader.h"

namespace prm::prmctl {
namespace {

struct DlqOptions {
  std::string topic;
  std::string brokers = "127.0.0.1:9092";
  DeadLetterFilter filter;
  int64_t limit = 0;
  bool json = false;
  bool all = false;      // replay
  bool dry_run = false;  // replay
  absl::Duration timeout = absl::Seconds(30);
};

std::string Origin(const DeadLetterOrigin& o) {
  return absl::StrCat(o.topic, "[", o.partition, "]@", o.offset);
}

// One line of JSON; bytes that are not UTF-8 (a binary key) become U+FFFD.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ToJson(const DeadLetter& d) {
  return {{"dlq_partition", d.record.partition}, {"dlq_offset", d.record.offset},
          {"origin_topic", d.origin.topic},      {"origin_partition", d.origin.partition},
          {"origin_offset", d.origin.offset},    {"group", d.origin.group},
          {"ce_type", d.ce_type},                {"ce_id", d.ce_id},
          {"key", d.record.key},                 {"reason", d.reason}};
}

void PrintLetters(const std::vector<DeadLetter>& letters, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  for (const DeadLetter& d : letters) {
    rows.push_back({absl::StrCat("[", d.record.partition, "]@", d.record.offset), Origin(d.origin),
                    d.origin.group, d.ce_type.empty() ? "-" : d.ce_type,
                    d.ce_id.empty() ? "-" : d.ce_id, d.reason});
  }
  PrintTable({"dlq_offset", "origin", "group", "ce_type", "ce_id", "reason"}, rows, out);
}

struct Selection {
  size_t records = 0;      // in the DLQ topic
  size_t malformed = 0;    // not PRM dead letters
  size_t duplicates = 0;   // further copies of a selected origin
  std::vector<DeadLetter> letters;
};

// Reads the DLQ topic and selects from it; the exit code when it cannot.
std::optional<int> Select(const char* command, const DlqOptions& options,
                          const CommandContext& context, TopicReader& reader,
                          Selection* selection) {
  absl::StatusOr<std::vector<kafka::Record>> records =
      reader.ReadToEnd(options.topic, options.timeout);
  if (!records.ok()) {
    if (records.status().code() == absl::StatusCode::kUnavailable) {
      context.err << command << ": Kafka at " << options.brokers
                  << " does not answer: " << records.status().message() << "\n";
    } else {
      context.err << command << ": " << records.status().message() << "\n";
    }
    return kExitFailure;
  }
  selection->records = records->size();
  std::vector<DeadLetter> letters;
  for (kafka::Record& record : *records) {
    absl::StatusOr<DeadLetter> letter = ParseDeadLetter(std::move(record));
    if (!letter.ok()) {
      ++selection->malformed;
      context.err << command << ": skipped: " << letter.status().message() << "\n";
      continue;
    }
    letters.push_back(*std::move(letter));
  }
  // Copies of a selected origin: every match minus the distinct ones.
  std::set<DeadLetterOrigin> matching;
  size_t matches = 0;
  for (const DeadLetter& d : letters) {
    if (!options.filter.Matches(d)) continue;
    ++matches;
    matching.insert(d.origin);
  }
  selection->duplicates = matches - matching.size();
  selection->letters =
      SelectDeadLetters(std::move(letters), options.filter, static_cast<size_t>(options.limit));
  return std::nullopt;
}

std::unique_ptr<TopicReader> OpenReader(const char* command, const DlqOptions& options,
                                        const CommandContext& context) {
  absl::StatusOr<std::unique_ptr<TopicReader>> reader = TopicReader::Create(options.brokers);
  if (!reader.ok()) {
    context.err << command << ": --kafka-brokers: " << reader.status().message() << "\n";
    return nullptr;
  }
  return *std::move(reader);
}

int ListDeadLetters(const DlqOptions& options, const CommandContext& context) {
  constexpr char kCommand[] = "prmctl dlq list";
  std::unique_ptr<TopicReader> reader = OpenReader(kCommand, options, context);
  if (reader == nullptr) return kExitUsage;
  Selection selection;
  if (std::optional<int> stop = Select(kCommand, options, context, *reader, &selection)) {
    return *stop;
  }
  if (options.json) {
    for (const DeadLetter& d : selection.letters) context.out << Dump(ToJson(d)) << "\n";
    return kExitOk;
  }
  if (selection.letters.empty()) {
    context.out << "(no dead letters)\n";
  } else {
    PrintLetters(selection.letters, context.out);
  }
  context.out << selection.letters.size() << " dead letter(s) of " << selection.records
              << " record(s) in " << options.topic;
  if (selection.duplicates > 0) {
    context.out << "; " << selection.duplicates << " repeated cop(ies) shown once";
  }
  if (selection.malformed > 0) {
    context.out << "; " << selection.malformed << " record(s) not PRM dead letters";
  }
  context.out << "\n";
  return kExitOk;
}

int ReplayDeadLetters(const DlqOptions& options, const CommandContext& context) {
  constexpr char kCommand[] = "prmctl dlq replay";
  std::unique_ptr<TopicReader> reader = OpenReader(kCommand, options, context);
  if (reader == nullptr) return kExitUsage;
  Selection selection;
  if (std::optional<int> stop = Select(kCommand, options, context, *reader, &selection)) {
    return *stop;
  }
  const std::vector<Replay> plan = PlanReplay(selection.letters);

  // Originals whose topic is gone fail here: the producer would wait for it until its timeout.
  std::vector<absl::Status> results(plan.size());
  std::map<std::string, absl::Status> topics;
  for (const Replay& r : plan) topics.emplace(r.record.topic, absl::OkStatus());
  if (!options.dry_run) {
    for (auto& [topic, status] : topics) status = reader->CheckTopic(topic, options.timeout);
  }
  std::vector<kafka::Record> records;
  std::vector<size_t> sent;  // plan index of each of `records`
  for (size_t i = 0; i < plan.size(); ++i) {
    results[i] = topics[plan[i].record.topic];
    if (results[i].ok()) {
      records.push_back(plan[i].record);
      sent.push_back(i);
    }
  }
  if (!options.dry_run && !records.empty()) {
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
        kafka::Producer::Create({.brokers = options.brokers, .client_id = "prmctl"});
    if (!producer.ok()) {
      context.err << kCommand << ": --kafka-brokers: " << producer.status().message() << "\n";
      return kExitUsage;
    }
    const std::vector<absl::Status> acks = (*producer)->ProduceAndWait(records, options.timeout);
    for (size_t j = 0; j < acks.size(); ++j) results[sent[j]] = acks[j];
  }

  size_t replayed = 0, failed = 0;
  nlohmann::json failures = nlohmann::json::array();
  for (size_t i = 0; i < plan.size(); ++i) {
    if (results[i].ok()) {
      ++replayed;
      continue;
    }
    ++failed;
    const std::string error = absl::StrCat(absl::StatusCodeToString(results[i].code()), ": ",
                                           results[i].message());
    context.err << kCommand << ": " << Origin(plan[i].origin)
                << (plan[i].ce_id.empty() ? "" : absl::StrCat(" (ce_id ", plan[i].ce_id, ")"))
                << " not replayed: " << error << "\n";
    failures.push_back({{"origin_topic", plan[i].origin.topic},
                        {"origin_partition", plan[i].origin.partition},
                        {"origin_offset", plan[i].origin.offset},
                        {"ce_id", plan[i].ce_id},
                        {"error", error}});
  }
  std::set<std::string> to;
  for (const Replay& r : plan) to.insert(r.record.topic);
  if (options.json) {
    context.out << Dump({{"topic", options.topic},
                         {"selected", selection.letters.size()},
                         {"originals", plan.size()},
                         {"replayed", options.dry_run ? 0 : replayed},
                         {"failed", failed},
                         {"dry_run", options.dry_run},
                         {"failures", failures}})
                << "\n";
  } else {
    if (options.dry_run && !selection.letters.empty()) {
      PrintLetters(selection.letters, context.out);
      context.out << "\n";
    }
    context.out << "selected  " << selection.letters.size() << " dead letter(s) of "
                << selection.records << " record(s) in " << options.topic;
    if (selection.duplicates > 0) {
      context.out << " (" << selection.duplicates << " repeated cop(ies) counted once)";
    }
    context.out << "\n";
    if (options.dry_run) {
      context.out << "dry run   " << plan.size() << " original(s) would be replayed to "
                  << (to.empty() ? "-" : absl::StrJoin(to, ", ")) << "; nothing sent\n";
    } else {
      context.out << "replayed  " << replayed << " original(s) to "
                  << (to.empty() ? "-" : absl::StrJoin(to, ", ")) << "\n"
                  << "failed    " << failed << "\n";
    }
  }
  return failed == 0 ? kExitOk : kExitFailure;
}

void AddCommonFlags(FlagSet& flags, DlqOptions* options) {
  flags.String("topic", &options->topic, "the dead-letter topic, e.g. prm.sales.v1.dlq");
  flags.String("kafka-brokers", &options->brokers, "Kafka bootstrap servers host:port[,…]");
  flags.String("group", &options->filter.group,
               "only dead letters of this consumer group, e.g. prm-partner-registry");
  flags.String("reason-contains", &options->filter.reason_contains,
               "only dead letters whose reason contains this text, e.g. partner_external_id");
  flags.String("ce-id", &options->filter.ce_id, "only the dead letters of this CloudEvents id");
  flags.Int("limit", &options->limit, "at most this many dead letters (0: all)", 0, 100000000);
  flags.Duration("timeout", &options->timeout,
                 "how long to wait for the broker, for reading to the end of the topic and for "
                 "acknowledgements");
  flags.Required("topic");
  flags.Check([options] {
    return options->timeout <= absl::ZeroDuration() ? "--timeout: must be more than 0" : "";
  });
}

void PrintUsage(std::ostream& out) {
  out << "Usage: prmctl dlq <verb> --topic=TOPIC.dlq [--flag=value ...]\n\nVerbs:\n"
         "  list     show the dead letters of a DLQ topic: origin, consumer group, event, reason\n"
         "  replay   republish the selected dead letters' originals to their topics\n";
}

}  // namespace

int RunDlq(int argc, const char* const* argv, const CommandContext& context) {
  const std::string_view verb = argc >= 2 ? argv[1] : "";
  if (verb != "list" && verb != "replay") {
    const bool help = verb == "--help" || verb == "-h";
    if (!help && !verb.empty()) {
      context.err << "prmctl dlq: unknown verb \"" << verb << "\" (see prmctl dlq --help)\n";
    }
    PrintUsage(help ? context.out : context.err);
    return help ? kExitOk : kExitUsage;
  }
  DlqOptions options;
  if (verb == "list") {
    FlagSet flags("prmctl dlq list",
                  "show the dead letters of a DLQ topic, read from its beginning to its current "
                  "end without a consumer group; each origin (group, topic, partition, offset) "
                  "once");
    AddCommonFlags(flags, &options);
    flags.Bool("json", &options.json, "one JSON object per dead letter and line");
    if (std::optional<int> stop = ParseCommandFlags(flags, argc - 1, argv + 1, context)) {
      return *stop;
    }
    return ListDeadLetters(options, context);
  }
  FlagSet flags("prmctl dlq replay",
                "republish the originals of the selected dead letters to their topics (same key, "
                "value and headers, prm_dlq_* removed), each distinct original once, and wait "
                "for the acknowledgements. Consumers dedupe on the CloudEvents source+id, so "
                "those that applied a record ignore the copy. Exit code 1 when any failed");
  AddCommonFlags(flags, &options);
  flags.Bool("all", &options.all, "replay every dead letter of the topic (needed without "
                                  "--group, --reason-contains or --ce-id)");
  flags.Bool("dry-run", &options.dry_run, "show what would be replayed; send nothing");
  flags.Bool("json", &options.json, "print the summary as JSON");
  flags.Check([&options] {
    return options.filter.empty() && !options.all
               ? "--all: is required to replay every dead letter; or select some with --group, "
                 "--reason-contains or --ce-id"
               : "";
  });
  if (std::optional<int> stop = ParseCommandFlags(flags, argc - 1, argv + 1, context)) {
    return *stop;
  }
  return ReplayDeadLetters(options, context);
}

}  // namespace prm::prmctl
