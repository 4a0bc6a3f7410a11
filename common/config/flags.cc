#include "common/config/flags.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"

namespace prm {

FlagSet::FlagSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

std::string FlagSet::EnvName(absl::string_view flag) {
  std::string env = "PRM_";
  for (char c : flag) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return env;
}

std::vector<std::string> FlagSet::Names() const {
  std::vector<std::string> names;
  for (const auto& s : settings_) names.push_back(s.name);
  return names;
}

void FlagSet::Add(Setting setting) { settings_.push_back(std::move(setting)); }

FlagSet::Setting* FlagSet::Find(absl::string_view name) {
  for (auto& s : settings_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void FlagSet::String(std::string name, std::string* target, std::string help) {
  Add({.name = std::move(name),
       .help = std::move(help),
       .default_text = *target,
       .set = [target](absl::string_view v) {
         *target = std::string(v);
         return std::string();
       },
       .is_empty = [target] { return target->empty(); }});
}

void FlagSet::Bool(std::string name, bool* target, std::string help) {
  Add({.name = std::move(name),
       .help = std::move(help),
       .default_text = *target ? "true" : "false",
       .is_bool = true,
       .set = [target](absl::string_view v) -> std::string {
         if (v == "true" || v == "1" || v == "yes") {
           *target = true;
         } else if (v == "false" || v == "0" || v == "no") {
           *target = false;
         } else {
           return "must be true or false";
         }
         return "";
       },
       .is_empty = [] { return false; }});
}

void FlagSet::Int(std::string name, int64_t* target, std::string help, int64_t min, int64_t max) {
  Add({.name = std::move(name),
       .help = absl::StrCat(help, " [", min, "..", max, "]"),
       .default_text = absl::StrCat(*target),
       .set = [target, min, max](absl::string_view v) -> std::string {
         int64_t n = 0;
         if (!absl::SimpleAtoi(v, &n)) return "must be an integer";
         if (n < min || n > max) return absl::StrCat("must be between ", min, " and ", max);
         *target = n;
         return "";
       },
       .is_empty = [] { return false; }});
}

void FlagSet::Duration(std::string name, absl::Duration* target, std::string help) {
  Add({.name = std::move(name),
       .help = std::move(help) + " (e.g. 500ms, 25s, 2h)",
       .default_text = absl::FormatDuration(*target),
       .set = [target](absl::string_view v) -> std::string {
         absl::Duration d;
         if (!absl::ParseDuration(v, &d) || d < absl::ZeroDuration()) {
           return "must be a non-negative duration such as 500ms, 25s or 2h";
         }
         *target = d;
         return "";
       },
       .is_empty = [] { return false; }});
}

void FlagSet::Choice(std::string name, std::string* target, std::vector<std::string> choices,
                     std::string help) {
  std::string joined = absl::StrJoin(choices, "|");
  Add({.name = std::move(name),
       .help = absl::StrCat(help, " (", joined, ")"),
       .default_text = *target,
       .set = [target, choices = std::move(choices), joined](absl::string_view v) -> std::string {
         if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
           return absl::StrCat("must be one of ", joined);
         }
         *target = std::string(v);
         return "";
       },
       .is_empty = [target] { return target->empty(); }});
}

void FlagSet::Required(absl::string_view name) {
  Setting* s = Find(name);
  if (s == nullptr) std::abort();  // a programming error: requiring an undeclared setting
  s->required = true;
}

void FlagSet::Check(std::function<std::string()> check) { checks_.push_back(std::move(check)); }

absl::StatusOr<FlagSet::Outcome> FlagSet::Parse(int argc, const char* const* argv,
                                                const char* const* env) {
  std::vector<std::string> errors;
  auto apply = [&](Setting& s, absl::string_view value, absl::string_view origin) {
    std::string error = s.set(value);
    if (!error.empty()) errors.push_back(absl::StrCat(origin, ": ", error));
  };

  // Environment first, so that flags override it.
  for (const char* const* e = env; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (!absl::StartsWith(entry, "PRM_")) continue;
    size_t eq = entry.find('=');
    absl::string_view key = entry.substr(0, eq);
    absl::string_view value = eq == absl::string_view::npos ? "" : entry.substr(eq + 1);
    Setting* match = nullptr;
    for (auto& s : settings_) {
      if (EnvName(s.name) == key) match = &s;
    }
    if (match == nullptr) {
      errors.push_back(absl::StrCat(key, ": unknown setting (see --help)"));
      continue;
    }
    apply(*match, value, key);
  }

  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (arg == "--help" || arg == "-h") return Outcome::kHelp;
    if (arg == "--version") return Outcome::kVersion;
    if (!absl::StartsWith(arg, "--")) {
      errors.push_back(absl::StrCat(arg, ": unexpected argument"));
      continue;
    }
    arg.remove_prefix(2);
    size_t eq = arg.find('=');
    absl::string_view name = arg.substr(0, eq);
    Setting* s = Find(name);
    if (s == nullptr) {
      errors.push_back(absl::StrCat("--", name, ": unknown flag (see --help)"));
      continue;
    }
    std::string origin = absl::StrCat("--", name);
    if (eq != absl::string_view::npos) {
      apply(*s, arg.substr(eq + 1), origin);
    } else if (s->is_bool) {
      apply(*s, "true", origin);
    } else if (i + 1 < argc) {
      apply(*s, argv[++i], origin);
    } else {
      errors.push_back(absl::StrCat(origin, ": needs a value"));
    }
  }

  for (const auto& s : settings_) {
    if (s.required && s.is_empty()) {
      errors.push_back(absl::StrCat("--", s.name, " (", EnvName(s.name), "): is required"));
    }
  }
  // Checks run even after errors, so that one start names every problem; a value that failed
  // to parse keeps its default meanwhile.
  for (const auto& check : checks_) {
    std::string error = check();
    if (!error.empty()) errors.push_back(std::move(error));
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(program_, ": bad configuration: ", absl::StrJoin(errors, "; ")));
  }
  return Outcome::kRun;
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat(program_, " — ", summary_, "\n\nUsage: ", program_,
                                 " [--flag=value ...]\n\nEvery flag can also be set through "
                                 "the environment variable shown.\n\n");
  for (const auto& s : settings_) {
    absl::StrAppend(&out, "  --", s.name, s.is_bool ? "" : "=VALUE", "  (", EnvName(s.name),
                    ")\n      ", s.help);
    if (s.required) {
      absl::StrAppend(&out, " [required]");
    } else {
      absl::StrAppend(&out, " [default: ", s.default_text.empty() ? "\"\"" : s.default_text, "]");
    }
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "  --help      print this text\n  --version   print the version\n");
  return out;
}

}  // namespace prm
