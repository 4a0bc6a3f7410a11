// The command log's costs, which bound every service's write rate and start-up time:
//   - Execute: commands/s through one SQLite writer, with `full` (fsync per commit) and `normal`
//     durability, each command ~300 bytes of payload plus one outbox row of ~400 bytes, as a
//     typical service write;
//   - Replay: commands/s read back at start-up (the domain's own apply excluded: a no-op here).
//
//   prm-bench-command-log [--commands=N] [--threads=T] [--dir=DIR]
//
// With T > 1 writers, concurrent commands share a commit (group commit in sqlite::Database), as
// concurrent gRPC calls do in a service.
//
// Prints one line per measurement. Wall-clock figures on a shared machine: compare the two
// durability modes within one run, not across machines.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/storage/command_log.h"
#include "common/storage/outbox.h"

namespace prm {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Run(int commands, int threads, const std::filesystem::path& dir) {
  const std::string payload(300, 'p');
  const std::string event(400, 'e');
  for (auto [name, durability] : {std::pair{"full", sqlite::Durability::kFull},
                                  std::pair{"normal", sqlite::Durability::kNormal}}) {
    std::filesystem::path path = dir / absl::StrCat("command-log-", name, ".sqlite");
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + "-wal");
    std::filesystem::remove(path.string() + "-shm");
    {
      auto db = sqlite::Database::Open({.path = path.string(), .durability = durability},
                                       {command_log::Schema(), outbox::Schema()});
      if (!db.ok()) {
        std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
        return 1;
      }
      command_log::CommandLog log(**db, SystemClock::Instance());
      auto start = std::chrono::steady_clock::now();
      std::atomic<bool> failed{false};
      std::vector<std::thread> writers;
      for (int t = 0; t < threads; ++t) {
        writers.emplace_back([&, t] {
          for (int i = t; i < commands; i += threads) {
            auto reply = log.Execute(
                {.kind = "Create", .request_id = absl::StrCat("req-", i), .payload = payload},
                [&](sqlite::Transaction& tx,
                    const command_log::Command& c) -> absl::StatusOr<std::string> {
                  absl::Status s = outbox::Append(
                      tx, {.topic = "prm.bench.v1", .key = absl::StrCat(c.seq), .value = event},
                      c.time);
                  if (!s.ok()) return s;
                  return std::string("ok");
                });
            if (!reply.ok()) {
              std::fprintf(stderr, "%s\n", reply.status().ToString().c_str());
              failed = true;
              return;
            }
          }
        });
      }
      for (auto& w : writers) w.join();
      if (failed) return 1;
      double took = Seconds(start);
      std::printf("execute durability=%-6s threads=%d commands=%d seconds=%.2f commands_per_s=%.0f\n",
                  name, threads, commands, took, commands / took);
    }
    auto db = sqlite::Database::Open({.path = path.string(), .durability = durability},
                                     {command_log::Schema(), outbox::Schema()});
    command_log::CommandLog log(**db, SystemClock::Instance());
    auto start = std::chrono::steady_clock::now();
    int64_t bytes = 0;
    auto replayed = log.Replay([&](const command_log::Command& c) -> absl::StatusOr<std::string> {
      bytes += static_cast<int64_t>(c.payload.size());
      return std::string("ok");
    });
    double took = Seconds(start);
    if (!replayed.ok() || replayed->commands != commands) {
      std::fprintf(stderr, "replay failed\n");
      return 1;
    }
    std::printf("replay  durability=%-6s commands=%lld seconds=%.3f commands_per_s=%.0f "
                "file_mib=%.1f\n",
                name, static_cast<long long>(replayed->commands), took,
                replayed->commands / took,
                static_cast<double>(std::filesystem::file_size(path)) / (1 << 20));
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + "-wal");
    std::filesystem::remove(path.string() + "-shm");
  }
  return 0;
}

}  // namespace
}  // namespace prm

int main(int argc, char** argv) {
  int commands = 20000;
  int threads = 1;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--commands=", 0) == 0) {
      commands = std::atoi(argv[i] + 11);
    } else if (arg.rfind("--threads=", 0) == 0) {
      threads = std::max(1, std::atoi(argv[i] + 10));
    } else if (arg.rfind("--dir=", 0) == 0) {
      dir = std::string(arg.substr(6));
    } else {
      std::fprintf(stderr, "usage: prm-bench-command-log [--commands=N] [--threads=T] [--dir=DIR]\n");
      return 2;
    }
  }
  return prm::Run(commands, threads, dir);
}
