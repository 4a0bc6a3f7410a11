#pragma once

// Declares a program's settings once and fills them from command-line flags and `PRM_*`
// environment variables (flag wins), validating every value before the program starts.
//
//   ServerOptions options;
//   FlagSet flags("partner-registry", "Partners, programs and enrollments.");
//   flags.String("grpc-listen", &options.grpc_listen, "gRPC listen address host:port");
//   ASSIGN_OR_RETURN(auto outcome, flags.Parse(argc, argv, environ));
//
// A flag `--grpc-listen` reads the variable `PRM_GRPC_LISTEN`. Unknown flags, unknown `PRM_*`
// variables and bad values are errors whose message names the setting (INVALID_ARGUMENT).
// Not thread-safe; use from `main` only. Libraries take the filled struct, never the FlagSet.

#include <cstdint>
#include <functional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prm {

class FlagSet {
 public:
  FlagSet(std::string program, std::string summary);

  // Each binds a setting to `target`, whose current value is the default.
  void String(std::string name, std::string* target, std::string help);
  void Bool(std::string name, bool* target, std::string help);
  void Int(std::string name, int64_t* target, std::string help, int64_t min, int64_t max);
  void Duration(std::string name, absl::Duration* target, std::string help);
  // A string restricted to `choices`.
  void Choice(std::string name, std::string* target, std::vector<std::string> choices,
              std::string help);
  // A setting that must not be empty once parsed.
  void Required(absl::string_view name);
  // A check run after all values are in (also when some failed to parse, which then keep their
  // defaults); returns a message naming the bad setting, or "".
  void Check(std::function<std::string()> check);

  enum class Outcome { kRun, kHelp, kVersion };

  // `env` is a null-terminated `NAME=value` array such as `environ` (may be null).
  // Returns kHelp / kVersion when asked for; the caller prints Usage() or the version.
  // On error nothing is guaranteed about the bound targets.
  absl::StatusOr<Outcome> Parse(int argc, const char* const* argv, const char* const* env);

  // The --help text: every setting with its variable, default and help.
  std::string Usage() const;

  static std::string EnvName(absl::string_view flag);

  // The names of the declared settings, in declaration order.
  std::vector<std::string> Names() const;

 private:
  struct Setting {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool required = false;
    std::function<std::string(absl::string_view)> set;  // returns an error or ""
    std::function<bool()> is_empty;
  };
  Setting* Find(absl::string_view name);
  void Add(Setting setting);

  std::string program_;
  std::string summary_;
  std::vector<Setting> settings_;
  std::vector<std::function<std::string()>> checks_;
};

}  // namespace prm
