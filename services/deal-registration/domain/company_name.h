#pragma once

// Normalization of end-customer legal names for conflict detection (SPEC §5.3).
//
// "Same customer by name" means: equal normalized keys (exact equality after normalization) and
// the same registered country (checked by the caller). No fuzzy similarity is used: an edit
// distance of one separates "Ramesh Traders" from "Ganesh Traders", so similarity scores create
// false conflicts between unrelated customers, which cost partner trust more than a missed match.
//
// Normalization, in order:
//  1. UTF-8 is decoded; letters are case-folded; Latin diacritics are stripped with a built-in
//     table (Latin-1, Latin Extended-A, the Romanian/Vietnamese letters of Latin Extended-B and
//     Extended Additional, combining marks dropped; ß→ss, æ→ae, ø→o, œ→oe, þ→th, ł→l, ı→i);
//     Cyrillic is transliterated to Latin (simplified BGN/PCGN: ж→zh, х→kh, ц→ts, ч→ch, ш→sh,
//     щ→shch, й→i, ы→y, ю→yu, я→ya, ъ/ь dropped), Greek likewise; full-width forms map to ASCII.
//     Other scripts are kept as they are.
//  2. Punctuation and whitespace split words; apostrophes are removed inside a word
//     ("McDonald's" → "mcdonalds"); "&" and the words and/und/et/og/och are connectors and are
//     dropped, like a lone y/e/i between two words.
//  3. Single letters joined by punctuation without a space form one word: "I.B.M." → "ibm",
//     "S.p.A." → "spa", "A/S" → "as", "Sp. z o.o." → "sp z oo".
//  4. A few abbreviations are expanded (intl → international, mfg → manufacturing, bros →
//     brothers, ...).
//  5. Legal-form words from ~40 countries (Inc, Corp, LLC, Ltd, GmbH, AG, S.A., SIA, UAB, OÜ, PT,
//     Tbk, OOO, KK, Sdn Bhd, Sp. z o.o., s.r.o., Kft, d.o.o., SA de CV, ...) are removed from the
//     end, repeatedly ("GmbH & Co. KG", "Co., Ltd."), and those that lead a name in their country
//     (SIA, UAB, AS, OÜ, PT, CV, OOO, ZAO, PAO, KK, "The", ...) from the start. At least one word
//     always remains.
//  6. Guard: when what remains consists only of generic words ("Global Solutions", "Trading") or
//     legal-form words ("Company"), the legal forms are kept in canonical spelling instead
//     ("Global Solutions Limited" → "global solutions ltd"), so such names never collapse onto a
//     single generic word and a bare legal form never matches every "… Company".
// The key is the remaining words concatenated without separators ("Coca-Cola" = "Coca Cola" =
// "CocaCola").
//
// Thread safety: the functions are pure and thread-safe (the tables are immutable statics).

#include <string>
#include <string_view>
#include <vector>

namespace prm::deal {

struct NormalizedCompanyName {
  // The matching key: the words below concatenated. Empty only when the name has no letter or
  // digit at all; an empty key never matches anything.
  std::string key;
  // The words of the key, in order.
  std::vector<std::string> tokens;
  // Canonical codes of the legal forms that were removed ("inc", "gmbh", "sp zoo"), in order of
  // appearance; empty when the guard of step 6 kept them in `tokens`.
  std::vector<std::string> legal_forms;
};

// Normalizes a legal name as written by a submitter. Never fails: invalid UTF-8 bytes act as
// separators.
NormalizedCompanyName NormalizeCompanyName(std::string_view legal_name);

// True when both names have the same non-empty key. Does not look at countries.
bool SameCompanyName(std::string_view a, std::string_view b);

}  // namespace prm::deal
