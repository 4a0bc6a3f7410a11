#include "services/deal-registration/domain/company_name.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace prm::deal {
namespace {

// U+00C0..U+017F folded to lower-case ASCII. nullptr = separator (× and ÷).
constexpr std::array<const char*, 0x180 - 0xC0> kLatin = {
    // U+00C0..U+00DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
    // U+00E0..U+00FF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "y",
    // U+0100..U+013F
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",  //
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",  //
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",  //
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    // U+0140..U+017F
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",  //
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",  //
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",  //
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

// Cyrillic U+0410..U+044F (А..я): upper and lower halves share one table.
constexpr std::array<const char*, 32> kCyrillic = {
    "a", "b", "v", "g", "d", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p",
    "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
};

// Cyrillic U+0400..U+040F (Ѐ..Џ), shared with U+0450..U+045F.
constexpr std::array<const char*, 16> kCyrillicExtra = {
    "e", "e", "dj", "g", "ye", "dz", "i", "i", "j", "lj", "nj", "c", "k", "i", "u", "dz",
};

// Greek U+0391..U+03A9 (Α..Ω), shared with U+03B1..U+03C9 (α..ω).
constexpr std::array<const char*, 25> kGreek = {
    "a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n",
    "x", "o", "p", "r", "s", "s", "t", "y", "f", "ch", "ps", "o",
};

enum class Kind { kLetters, kSpace, kSeparator, kApostrophe, kAmpersand };

struct Folded {
  Kind kind;
  std::string_view text;  // for kLetters
};

// Decodes one code point at `s[*i]`, advancing `*i`. Invalid sequences yield U+FFFD.
char32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  auto cont = [&](size_t k) -> int {
    if (*i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[*i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 < 0x80) {
    *i += 1;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    *i += 1;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const int c = cont(k);
    if (c < 0) {
      *i += 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | static_cast<char32_t>(c);
  }
  *i += len;
  return cp;
}

bool IsSpace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
         cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Letters as ASCII for the code points we fold; `raw` is used for code points of other scripts.
// `ukrainian` switches Cyrillic и/г to the Ukrainian transliteration (y/h).
Folded Fold(char32_t cp, std::string_view raw, bool ukrainian, std::string& scratch) {
  if (cp < 0x80) {
    const char c = static_cast<char>(cp);
    if (c >= 'a' && c <= 'z') return {Kind::kLetters, raw};
    if (c >= '0' && c <= '9') return {Kind::kLetters, raw};
    if (c >= 'A' && c <= 'Z') {
      scratch.assign(1, static_cast<char>(c - 'A' + 'a'));
      return {Kind::kLetters, scratch};
    }
    if (IsSpace(cp)) return {Kind::kSpace, {}};
    if (c == '\'' || c == '`') return {Kind::kApostrophe, {}};
    if (c == '&') return {Kind::kAmpersand, {}};
    return {Kind::kSeparator, {}};
  }
  if (IsSpace(cp)) return {Kind::kSpace, {}};
  if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC || cp == 0xB4) return {Kind::kApostrophe, {}};
  if (cp == 0xFF06) return {Kind::kAmpersand, {}};
  if (cp >= 0xC0 && cp < 0x180) {
    const char* s = kLatin[cp - 0xC0];
    if (s == nullptr) return {Kind::kSeparator, {}};
    return {Kind::kLetters, s};
  }
  if (cp < 0xC0) return {Kind::kSeparator, {}};  // C1 controls, Latin-1 punctuation and symbols
  switch (cp) {  // Latin Extended-B letters of living European and Vietnamese orthographies
    case 0x0180: return {Kind::kLetters, "b"};
    case 0x01A0: case 0x01A1: return {Kind::kLetters, "o"};
    case 0x01AF: case 0x01B0: return {Kind::kLetters, "u"};
    case 0x01C4: case 0x01C5: case 0x01C6: return {Kind::kLetters, "dz"};
    case 0x01CD: case 0x01CE: return {Kind::kLetters, "a"};
    case 0x01CF: case 0x01D0: return {Kind::kLetters, "i"};
    case 0x01D1: case 0x01D2: return {Kind::kLetters, "o"};
    case 0x0218: case 0x0219: return {Kind::kLetters, "s"};
    case 0x021A: case 0x021B: return {Kind::kLetters, "t"};
    default: break;
  }
  if (cp >= 0x01D3 && cp <= 0x01DC) return {Kind::kLetters, "u"};
  if (cp >= 0x0300 && cp <= 0x036F) return {Kind::kLetters, ""};  // combining marks
  if (cp >= 0x1EA0 && cp <= 0x1EF9) {  // Vietnamese
    if (cp <= 0x1EB7) return {Kind::kLetters, "a"};
    if (cp <= 0x1EC7) return {Kind::kLetters, "e"};
    if (cp <= 0x1ECB) return {Kind::kLetters, "i"};
    if (cp <= 0x1EE3) return {Kind::kLetters, "o"};
    if (cp <= 0x1EF1) return {Kind::kLetters, "u"};
    return {Kind::kLetters, "y"};
  }
  if (cp >= 0x0410 && cp <= 0x044F) {
    const char32_t letter = (cp - 0x0410) % 32;
    if (ukrainian && letter == 8) return {Kind::kLetters, "y"};  // и
    if (ukrainian && letter == 3) return {Kind::kLetters, "h"};  // г
    return {Kind::kLetters, kCyrillic[letter]};
  }
  if (cp >= 0x0400 && cp <= 0x040F) return {Kind::kLetters, kCyrillicExtra[cp - 0x0400]};
  if (cp >= 0x0450 && cp <= 0x045F) return {Kind::kLetters, kCyrillicExtra[cp - 0x0450]};
  if (cp == 0x0490 || cp == 0x0491) return {Kind::kLetters, "g"};  // Ґ ґ
  if (cp == 0x04D8 || cp == 0x04D9) return {Kind::kLetters, "a"};  // Ә ә
  if (cp == 0x04E8 || cp == 0x04E9) return {Kind::kLetters, "o"};  // Ө ө
  if (cp == 0x04AE || cp == 0x04AF || cp == 0x04B0 || cp == 0x04B1) return {Kind::kLetters, "u"};
  if (cp == 0x049A || cp == 0x049B) return {Kind::kLetters, "k"};
  if (cp == 0x04A2 || cp == 0x04A3) return {Kind::kLetters, "n"};
  if (cp == 0x0492 || cp == 0x0493) return {Kind::kLetters, "g"};
  if (cp == 0x04BA || cp == 0x04BB) return {Kind::kLetters, "h"};
  if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2) return {Kind::kLetters, kGreek[cp - 0x0391]};
  if (cp >= 0x03B1 && cp <= 0x03C9) return {Kind::kLetters, kGreek[cp - 0x03B1]};
  switch (cp) {  // Greek with tonos or dialytika
    case 0x0386: case 0x03AC: return {Kind::kLetters, "a"};
    case 0x0388: case 0x03AD: return {Kind::kLetters, "e"};
    case 0x0389: case 0x03AE: return {Kind::kLetters, "i"};
    case 0x038A: case 0x03AF: case 0x03AA: case 0x03CA: case 0x0390: return {Kind::kLetters, "i"};
    case 0x038C: case 0x03CC: return {Kind::kLetters, "o"};
    case 0x038E: case 0x03CD: case 0x03AB: case 0x03CB: case 0x03B0: return {Kind::kLetters, "y"};
    case 0x038F: case 0x03CE: return {Kind::kLetters, "o"};
    default: break;
  }
  if (cp >= 0xFF10 && cp <= 0xFF19) {  // full-width digits and letters
    scratch.assign(1, static_cast<char>('0' + (cp - 0xFF10)));
    return {Kind::kLetters, scratch};
  }
  if ((cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A)) {
    scratch.assign(1, static_cast<char>('a' + (cp >= 0xFF41 ? cp - 0xFF41 : cp - 0xFF21)));
    return {Kind::kLetters, scratch};
  }
  if ((cp >= 0x2010 && cp <= 0x206F) || (cp >= 0x2190 && cp <= 0x2BFF) ||
      (cp >= 0x3001 && cp <= 0x303F) || (cp >= 0xFE10 && cp <= 0xFE6F) ||
      (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0xFFFD ||
      cp == 0x00D7 || cp == 0x00F7) {
    return {Kind::kSeparator, {}};
  }
  return {Kind::kLetters, raw};  // another script: kept as written
}

struct RawWord {
  std::string text;
  bool glued = false;  // joined to the previous word by punctuation only (no whitespace)
};

// True when the name uses letters found only in Ukrainian among Cyrillic alphabets (є і ї ґ).
bool LooksUkrainian(std::string_view name) {
  size_t i = 0;
  while (i < name.size()) {
    const char32_t cp = DecodeUtf8(name, &i);
    if (cp == 0x0404 || cp == 0x0454 || cp == 0x0406 || cp == 0x0456 || cp == 0x0407 ||
        cp == 0x0457 || cp == 0x0490 || cp == 0x0491) {
      return true;
    }
  }
  return false;
}

std::vector<RawWord> SplitWords(std::string_view name) {
  const bool ukrainian = LooksUkrainian(name);
  std::vector<RawWord> words;
  std::string current;
  bool saw_space = false;
  auto finish = [&] {
    if (current.empty()) return;
    words.push_back({std::move(current), !saw_space && !words.empty()});
    current.clear();
    saw_space = false;
  };
  std::string scratch;
  size_t i = 0;
  while (i < name.size()) {
    const size_t start = i;
    const char32_t cp = DecodeUtf8(name, &i);
    const Folded f = Fold(cp, name.substr(start, i - start), ukrainian, scratch);
    switch (f.kind) {
      case Kind::kLetters:
        current.append(f.text.data(), f.text.size());
        break;
      case Kind::kApostrophe:
        break;
      case Kind::kSpace:
        finish();
        saw_space = true;
        break;
      case Kind::kSeparator:
        finish();
        break;
      case Kind::kAmpersand:
        finish();
        words.push_back({"and", false});
        saw_space = true;
        break;
    }
  }
  finish();
  return words;
}

bool IsSingleAsciiLetter(const std::string& w) {
  return w.size() == 1 && w[0] >= 'a' && w[0] <= 'z';
}

// Step 3: glued single letters become one word.
std::vector<std::string> MergeInitials(const std::vector<RawWord>& raw) {
  std::vector<std::string> out;
  bool last_is_initials = false;
  for (const RawWord& w : raw) {
    if (IsSingleAsciiLetter(w.text) && w.glued && last_is_initials) {
      out.back() += w.text;
      continue;
    }
    out.push_back(w.text);
    last_is_initials = IsSingleAsciiLetter(w.text);
  }
  return out;
}

const absl::flat_hash_map<std::string, std::string>& Abbreviations() {
  static const auto* const kMap = new absl::flat_hash_map<std::string, std::string>{
      {"intl", "international"}, {"mfg", "manufacturing"}, {"bros", "brothers"},
      {"natl", "national"},      {"assoc", "associates"},  {"svcs", "services"},
      {"mgmt", "management"},    {"st", "saint"},          {"ctr", "center"},
      {"centre", "center"},      {"labs", "laboratories"}, {"lab", "laboratory"},
  };
  return *kMap;
}

bool IsConnector(const std::string& w) {
  return w == "and" || w == "und" || w == "et" || w == "og" || w == "och";
}

enum Position : unsigned { kTrail = 1, kLead = 2, kBoth = 3 };

struct LegalForm {
  std::string canonical;
  unsigned positions;
};

// Legal forms by their words after steps 1–4, mapped to a canonical code.
const absl::flat_hash_map<std::string, LegalForm>& LegalForms() {
  static const auto* const kForms = [] {
    auto* m = new absl::flat_hash_map<std::string, LegalForm>;
    auto add = [m](std::initializer_list<const char*> phrases, const char* canonical,
                   unsigned positions) {
      for (const char* p : phrases) (*m)[p] = LegalForm{canonical, positions};
    };
    add({"the"}, "", kLead);
    // United States, United Kingdom, Ireland, Commonwealth
    add({"inc", "incorporated"}, "inc", kTrail);
    add({"corp", "corporation", "corpn"}, "corp", kTrail);
    add({"co", "company", "cos"}, "co", kTrail);
    add({"llc", "limited liability company", "lc"}, "llc", kTrail);
    add({"pllc"}, "pllc", kTrail);
    add({"llp", "limited liability partnership"}, "llp", kTrail);
    add({"lp", "limited partnership"}, "lp", kTrail);
    add({"ltd", "limited", "ltda limited"}, "ltd", kTrail);
    add({"plc", "public limited company"}, "plc", kTrail);
    add({"pty ltd", "pty limited", "proprietary limited", "pty"}, "pty ltd", kTrail);
    add({"pvt ltd", "private limited", "pvt", "private ltd"}, "pvt ltd", kTrail);
    add({"pte ltd", "pte", "pte limited"}, "pte ltd", kTrail);
    // Germany, Austria, Switzerland, Liechtenstein
    add({"gmbh", "gesellschaft mit beschrankter haftung"}, "gmbh", kTrail);
    add({"ag", "aktiengesellschaft"}, "ag", kTrail);
    add({"kg", "kommanditgesellschaft"}, "kg", kTrail);
    add({"kgaa"}, "kgaa", kTrail);
    add({"ohg"}, "ohg", kTrail);
    add({"ug", "ug haftungsbeschrankt"}, "ug", kTrail);
    add({"ek", "ekfm", "ekfr"}, "ek", kTrail);
    add({"gbr"}, "gbr", kTrail);
    add({"sagl"}, "sagl", kTrail);
    // France, Belgium, Luxembourg, Switzerland (romand)
    add({"sa", "societe anonyme", "sociedad anonima", "sociedade anonima", "societa anonima"}, "sa",
        kTrail);
    add({"sas", "sasu", "societe par actions simplifiee"}, "sas", kTrail);
    add({"sarl", "societe a responsabilite limitee"}, "sarl", kTrail);
    add({"eurl"}, "eurl", kTrail);
    add({"snc"}, "snc", kTrail);
    add({"sca"}, "sca", kTrail);
    add({"sprl"}, "sprl", kTrail);
    add({"bvba"}, "bvba", kTrail);
    add({"cvba"}, "cvba", kTrail);
    // Italy
    add({"spa", "societa per azioni"}, "spa", kTrail);
    add({"srl", "srls", "societa a responsabilita limitata"}, "srl", kTrail);
    add({"sapa"}, "sapa", kTrail);
    // Spain, Portugal, Latin America
    add({"sl", "sociedad limitada"}, "sl", kTrail);
    add({"slu"}, "slu", kTrail);
    add({"sau"}, "sau", kTrail);
    add({"lda", "ltda", "limitada"}, "ltda", kTrail);
    add({"eireli", "eirl"}, "eirl", kTrail);
    add({"sa de cv", "sab de cv", "sapi de cv"}, "sa de cv", kTrail);
    add({"s de rl", "s de rl de cv", "srl de cv"}, "s de rl", kTrail);
    add({"sac", "saa"}, "sac", kTrail);
    // Netherlands
    add({"bv", "besloten vennootschap"}, "bv", kTrail);
    add({"nv", "naamloze vennootschap"}, "nv", kTrail);
    add({"vof"}, "vof", kTrail);
    // Nordics
    add({"ab", "aktiebolag", "aktiebolaget"}, "ab", kBoth);
    add({"ab publ", "abp"}, "ab", kTrail);
    add({"as", "aksjeselskap", "aktieselskab", "akciju sabiedriba", "aktsiaselts"}, "as", kBoth);
    add({"asa"}, "asa", kTrail);
    add({"aps", "anpartsselskab"}, "aps", kTrail);
    add({"oy", "osakeyhtio"}, "oy", kTrail);
    add({"oyj"}, "oyj", kTrail);
    add({"ehf", "hf"}, "ehf", kTrail);
    // Baltics
    add({"sia", "sabiedriba ar ierobezotu atbildibu"}, "sia", kBoth);
    add({"uab", "uzdaroji akcine bendrove"}, "uab", kBoth);
    add({"mb", "mazoji bendrija"}, "mb", kBoth);
    add({"ou", "osauhing"}, "ou", kBoth);
    // Central and Eastern Europe
    add({"sp zoo", "sp z oo", "sp z o o", "spzoo", "spolka z ograniczona odpowiedzialnoscia"},
        "sp zoo", kTrail);
    add({"sp j", "spj"}, "sp j", kTrail);
    add({"sro", "spol sro", "spol s ro", "s ro"}, "sro", kTrail);
    add({"kft"}, "kft", kTrail);
    add({"zrt"}, "zrt", kTrail);
    add({"nyrt"}, "nyrt", kTrail);
    add({"bt"}, "bt", kTrail);
    add({"doo"}, "doo", kTrail);
    add({"dd"}, "dd", kTrail);
    add({"ad", "ead"}, "ad", kTrail);
    add({"ood", "eood"}, "ood", kTrail);
    add({"sc"}, "sc", kLead);
    // Russia, Ukraine, Kazakhstan and neighbours (after transliteration)
    add({"ooo", "obshchestvo s ogranichennoi otvetstvennostyu"}, "ooo", kBoth);
    add({"zao", "zakrytoe aktsionernoe obshchestvo"}, "zao", kBoth);
    add({"oao", "otkrytoe aktsionernoe obshchestvo"}, "oao", kBoth);
    add({"pao", "publichnoe aktsionernoe obshchestvo"}, "pao", kBoth);
    add({"ao", "aktsionernoe obshchestvo"}, "ao", kBoth);
    add({"tov", "too"}, "tov", kBoth);
    add({"pat", "prat"}, "pat", kBoth);
    // Turkey, Greece
    add({"as", "anonim sirketi"}, "as", kBoth);
    add({"ltd sti", "sti", "limited sirketi"}, "ltd sti", kTrail);
    add({"ae"}, "ae", kTrail);
    add({"epe"}, "epe", kTrail);
    add({"ike"}, "ike", kTrail);
    // Asia
    add({"pt", "perseroan terbatas"}, "pt", kBoth);
    add({"tbk"}, "tbk", kTrail);
    add({"cv"}, "cv", kLead);
    add({"kk", "kabushiki kaisha", "kabushikigaisha", "kabushiki gaisha"}, "kk", kBoth);
    add({"gk", "godo kaisha", "godo gaisha"}, "gk", kBoth);
    add({"yk", "yugen kaisha"}, "yk", kBoth);
    add({"sdn bhd", "sendirian berhad"}, "sdn bhd", kTrail);
    add({"bhd", "berhad"}, "bhd", kTrail);
    add({"jusik hoesa", "chusik hoesa", "jusikhoesa"}, "jusik hoesa", kBoth);
    add({"youxian gongsi", "gufen youxian gongsi"}, "youxian gongsi", kTrail);
    add({"opc"}, "opc", kTrail);
    return m;
  }();
  return *kForms;
}

// Words that alone do not identify a company (step 6). Legal-form words count as generic too.
const absl::flat_hash_set<std::string>& GenericWords() {
  static const auto* const kWords = new absl::flat_hash_set<std::string>{
      "global",        "solutions",    "solution",    "services",     "service",
      "trading",       "traders",      "trade",       "group",        "holding",
      "holdings",      "international", "systems",    "system",       "technologies",
      "technology",    "tech",         "consulting",  "consultants",  "industries",
      "industry",      "enterprises",  "enterprise",  "partners",     "logistics",
      "national",      "general",      "united",      "digital",      "software",
      "data",          "management",   "marketing",   "investments",  "investment",
      "capital",       "finance",      "financial",   "media",        "network",
      "networks",      "energy",       "engineering", "construction", "associates",
      "development",   "products",     "resources",   "manufacturing", "brothers",
      "ventures",      "innovations",  "labs",        "laboratories", "laboratory",
      "center",        "business",     "commercial",  "import",       "export",
      "distribution",  "supply",       "retail",      "wholesale",    "agency",
      "studio",        "design",       "electronics", "it",           "computers",
      "world",         "worldwide",    "new",         "first",        "best",
  };
  return *kWords;
}

std::string Join(const std::vector<std::string>& words, size_t begin, size_t end, char sep) {
  std::string out;
  for (size_t k = begin; k < end; ++k) {
    if (k > begin && sep != '\0') out += sep;
    out += words[k];
  }
  return out;
}

constexpr size_t kMaxPhraseWords = 5;

struct Stripped {
  size_t begin;
  size_t end;
  std::vector<std::pair<size_t, std::string>> lead;   // (words, canonical) from the start
  std::vector<std::pair<size_t, std::string>> trail;  // from the end, outermost first
};

// Longest legal-form phrase allowed at `position` ending at `end` (kTrail) or starting at
// `begin` (kLead) that leaves at least one word.
const LegalForm* MatchForm(const std::vector<std::string>& w, size_t begin, size_t end,
                           Position position, size_t* len) {
  const auto& forms = LegalForms();
  const size_t available = end - begin;
  for (size_t n = std::min(kMaxPhraseWords, available - 1); n >= 1; --n) {
    const std::string phrase =
        position == kTrail ? Join(w, end - n, end, ' ') : Join(w, begin, begin + n, ' ');
    auto it = forms.find(phrase);
    if (it != forms.end() && (it->second.positions & position) != 0) {
      *len = n;
      return &it->second;
    }
  }
  return nullptr;
}

Stripped StripLegalForms(const std::vector<std::string>& w) {
  Stripped s{0, w.size(), {}, {}};
  bool changed = true;
  while (changed && s.end - s.begin > 1) {
    changed = false;
    size_t n = 0;
    if (const LegalForm* f = MatchForm(w, s.begin, s.end, kTrail, &n)) {
      s.trail.emplace_back(n, f->canonical);
      s.end -= n;
      changed = true;
      continue;
    }
    if (const LegalForm* f = MatchForm(w, s.begin, s.end, kLead, &n)) {
      s.lead.emplace_back(n, f->canonical);
      s.begin += n;
      changed = true;
    }
  }
  return s;
}

bool IsWeakWord(const std::string& word) {
  if (GenericWords().contains(word)) return true;
  return LegalForms().contains(word);
}

}  // namespace

NormalizedCompanyName NormalizeCompanyName(std::string_view legal_name) {
  std::vector<std::string> merged = MergeInitials(SplitWords(legal_name));

  std::vector<std::string> words;
  words.reserve(merged.size());
  for (size_t k = 0; k < merged.size(); ++k) {
    std::string& w = merged[k];
    if (IsConnector(w)) continue;
    if ((w == "y" || w == "e" || w == "i") && !words.empty() && words.back().size() > 1 &&
        k + 1 < merged.size() && merged[k + 1].size() > 1) {
      continue;
    }
    auto it = Abbreviations().find(w);
    words.push_back(it == Abbreviations().end() ? std::move(w) : it->second);
  }
  if (words.empty()) {  // only connectors, e.g. "&"
    for (std::string& w : merged) words.push_back(std::move(w));
  }

  NormalizedCompanyName out;
  if (words.empty()) return out;
  const Stripped s = StripLegalForms(words);

  bool all_weak = true;
  for (size_t k = s.begin; k < s.end && all_weak; ++k) all_weak = IsWeakWord(words[k]);

  if (!all_weak) {
    out.tokens.assign(words.begin() + static_cast<std::ptrdiff_t>(s.begin),
                      words.begin() + static_cast<std::ptrdiff_t>(s.end));
    for (const auto& [n, canonical] : s.lead) {
      if (!canonical.empty()) out.legal_forms.push_back(canonical);
    }
    for (auto it = s.trail.rbegin(); it != s.trail.rend(); ++it) {
      out.legal_forms.push_back(it->second);
    }
  } else {
    // Step 6: keep the legal forms, canonically spelled, around the generic core.
    auto push_canonical = [&out](const std::string& canonical) {
      size_t start = 0;
      while (start < canonical.size()) {
        size_t space = canonical.find(' ', start);
        if (space == std::string::npos) space = canonical.size();
        out.tokens.push_back(canonical.substr(start, space - start));
        start = space + 1;
      }
    };
    for (const auto& [n, canonical] : s.lead) push_canonical(canonical);
    for (size_t k = s.begin; k < s.end; ++k) {
      auto form = LegalForms().find(words[k]);
      if (form != LegalForms().end() && !form->second.canonical.empty()) {
        push_canonical(form->second.canonical);
      } else {
        out.tokens.push_back(words[k]);
      }
    }
    for (auto it = s.trail.rbegin(); it != s.trail.rend(); ++it) push_canonical(it->second);
  }
  out.key = Join(out.tokens, 0, out.tokens.size(), '\0');
  return out;
}

bool SameCompanyName(std::string_view a, std::string_view b) {
  const std::string ka = NormalizeCompanyName(a).key;
  return !ka.empty() && ka == NormalizeCompanyName(b).key;
}

}  // namespace prm::deal
