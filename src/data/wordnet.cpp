#include "contra/data/wordnet.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

#include "contra/core/error.h"
#include "contra/core/rng.h"
#include "contra/data/text.h"

namespace contra::data {
namespace {

/// Space-separated fields of the part of a line before the gloss.
std::vector<std::string> fields_of(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

/// Parses a whole field as an unsigned number in `base`; false when it is not one.
bool parse_uint(const std::string& s, int base, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (d >= base) return false;
    v = v * uint64_t(base) + uint64_t(d);
  }
  out = v;
  return true;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

const char* const kFiles[4] = {"noun", "verb", "adj", "adv"};

}  // namespace

char pos_letter(PartOfSpeech pos) {
  switch (pos) {
    case PartOfSpeech::kNoun: return 'n';
    case PartOfSpeech::kVerb: return 'v';
    case PartOfSpeech::kAdjective: return 'a';
    case PartOfSpeech::kAdjectiveSatellite: return 's';
    case PartOfSpeech::kAdverb: return 'r';
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled PartOfSpeech");
}

std::string lemma_key(const std::string& word) {
  std::string k = word;
  for (auto& c : k) c = c == ' ' ? '_' : char(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

void split_gloss(const std::string& gloss, std::string& definition,
                 std::vector<std::string>& examples) {
  definition.clear();
  examples.clear();
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (char c : gloss) {
    if (c == '"') quoted = !quoted;
    if (c == ';' && !quoted) {
      parts.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(trim(cur));
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (p.front() == '"') {
      // An example, perhaps followed by an attribution ("..." - Shakespeare): keep the quote.
      size_t close = p.find('"', 1);
      std::string ex = trim(p.substr(1, close == std::string::npos ? std::string::npos : close - 1));
      if (!ex.empty()) examples.push_back(ex);
    } else {
      definition += (definition.empty() ? "" : "; ") + p;
    }
  }
}

Synset parse_synset_line(const std::string& text, const std::string& file, int64_t line) {
  check_utf8(text, file, line);
  auto fail = [&](const std::string& what) -> Error {
    return Error(c10::str(file, ":", line, ": malformed synset line: ", what));
  };
  const size_t bar = text.find(" | ");
  const bool bar_at_end = bar == std::string::npos && text.size() >= 2 &&
                          text.compare(text.size() - 2, 2, " |") == 0;
  if (bar == std::string::npos && !bar_at_end) throw fail("no ' | ' before the gloss");
  const std::string head = text.substr(0, bar_at_end ? text.size() - 2 : bar);
  const std::string gloss = bar_at_end ? std::string() : trim(text.substr(bar + 3));
  const auto f = fields_of(head);
  if (f.size() < 6) throw fail(c10::str("expected at least 6 fields before the gloss, got ", f.size()));
  Synset s;
  uint64_t v = 0;
  if (f[0].size() != 8 || !parse_uint(f[0], 10, v))
    throw fail("synset offset '" + f[0] + "' is not 8 digits");
  s.offset = static_cast<uint32_t>(v);
  if (!parse_uint(f[1], 10, v)) throw fail("lexicographer file number '" + f[1] + "' is not a number");
  if (f[2].size() != 1) throw fail("unknown synset type '" + f[2] + "' (expected n, v, a, s or r)");
  switch (f[2][0]) {
    case 'n': s.pos = PartOfSpeech::kNoun; break;
    case 'v': s.pos = PartOfSpeech::kVerb; break;
    case 'a': s.pos = PartOfSpeech::kAdjective; break;
    case 's': s.pos = PartOfSpeech::kAdjectiveSatellite; break;
    case 'r': s.pos = PartOfSpeech::kAdverb; break;
    default: throw fail("unknown synset type '" + f[2] + "' (expected n, v, a, s or r)");
  }
  uint64_t words = 0;
  if (!parse_uint(f[3], 16, words) || words == 0)
    throw fail("word count '" + f[3] + "' is not a positive hexadecimal number");
  size_t i = 4;
  if (f.size() < i + 2 * words + 1)
    throw fail(c10::str("the line ends inside its ", words, " words"));
  for (uint64_t w = 0; w < words; ++w, i += 2) {
    std::string lemma = f[i];
    // Adjective position markers: "(a)", "(p)", "(ip)".
    for (const char* m : {"(a)", "(p)", "(ip)"}) {
      const size_t len = std::char_traits<char>::length(m);
      if (lemma.size() > len && lemma.compare(lemma.size() - len, len, m) == 0) {
        lemma.resize(lemma.size() - len);
        break;
      }
    }
    if (!parse_uint(f[i + 1], 16, v)) throw fail("lex_id '" + f[i + 1] + "' of '" + f[i] + "' is not hexadecimal");
    s.lemmas.push_back(lemma);
  }
  uint64_t pointers = 0;
  if (f[i].size() != 3 || !parse_uint(f[i], 10, pointers))
    throw fail("pointer count '" + f[i] + "' is not 3 digits");
  ++i;
  if (f.size() < i + 4 * pointers)
    throw fail(c10::str("the line ends inside its ", pointers, " pointers"));
  for (uint64_t p = 0; p < pointers; ++p, i += 4) {
    if (f[i + 1].size() != 8 || !parse_uint(f[i + 1], 10, v))
      throw fail("pointer target '" + f[i + 1] + "' is not an 8-digit offset");
  }
  // Verb frames ("f_cnt + f_num w_num ...") are not used; whatever follows is ignored.
  split_gloss(gloss, s.definition, s.examples);
  return s;
}

const Synset* WordNet::find(const std::string& name) const {
  const int64_t i = index_of(name);
  return i < 0 ? nullptr : &synsets[size_t(i)];
}

int64_t WordNet::index_of(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

WordNet load_wordnet(const std::string& dir) {
  WordNet wn;
  for (int k = 0; k < 4; ++k) {
    const std::string data_path = dir + "/data." + kFiles[k];
    const std::string index_path = dir + "/index." + kFiles[k];
    std::ifstream data(data_path, std::ios::binary);
    CONTRA_CHECK(data.good(), "cannot read WordNet file '", data_path,
                 "' (install wordnet-base, or set text.wordnet_dir)");
    std::unordered_map<uint32_t, int64_t> by_offset;
    std::string line;
    for (int64_t n = 1; std::getline(data, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      // The licence header: lines starting with two spaces.
      if (line.empty() || line[0] == ' ') continue;
      Synset s = parse_synset_line(line, data_path, n);
      by_offset[s.offset] = int64_t(wn.synsets.size());
      wn.synsets.push_back(std::move(s));
    }
    CONTRA_CHECK(!by_offset.empty(), "WordNet file '", data_path, "' has no synsets");

    // index.<pos>: lemma pos synset_cnt p_cnt [ptr_symbol]*p_cnt sense_cnt tagsense_cnt offsets.
    std::ifstream index(index_path, std::ios::binary);
    CONTRA_CHECK(index.good(), "cannot read WordNet file '", index_path,
                 "' (install wordnet-base, or set text.wordnet_dir)");
    for (int64_t n = 1; std::getline(index, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == ' ') continue;
      check_utf8(line, index_path, n);
      const auto f = fields_of(line);
      uint64_t count = 0, pointers = 0;
      CONTRA_CHECK(f.size() >= 4 && parse_uint(f[2], 10, count) && parse_uint(f[3], 10, pointers) &&
                       f.size() == 6 + pointers + count,
                   index_path, ":", n, ": malformed index line");
      const std::string& lemma = f[0];
      for (uint64_t j = 0; j < count; ++j) {
        uint64_t off = 0;
        CONTRA_CHECK(parse_uint(f[6 + pointers + j], 10, off), index_path, ":", n,
                     ": malformed index line");
        auto it = by_offset.find(static_cast<uint32_t>(off));
        CONTRA_CHECK(it != by_offset.end(), index_path, ":", n, ": synset ", f[6 + pointers + j],
                     " is not in ", data_path);
        Synset& s = wn.synsets[size_t(it->second)];
        if (s.name.empty() && lemma_key(s.lemmas.front()) == lemma) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "%02d", int(j + 1));
          s.name = lemma + "." + pos_letter(s.pos) + "." + buf;
        }
      }
    }
  }
  for (size_t i = 0; i < wn.synsets.size(); ++i) {
    const Synset& s = wn.synsets[i];
    if (!s.name.empty()) wn.by_name_.emplace(s.name, int64_t(i));
    for (const auto& l : s.lemmas) {
      auto& list = wn.lemma_index[lemma_key(l)];
      if (list.empty() || list.back() != int64_t(i)) list.push_back(int64_t(i));
    }
  }
  return wn;
}

SynsetSplit split_synsets(const WordNet& wordnet, double test_fraction, double val_fraction,
                          uint64_t seed) {
  CONTRA_CHECK(test_fraction > 0 && val_fraction >= 0 && test_fraction + val_fraction < 1,
               "synset split fractions must satisfy 0 < test (", test_fraction, "), 0 <= val (",
               val_fraction, ") and test + val < 1");
  SynsetSplit split;
  for (size_t i = 0; i < wordnet.synsets.size(); ++i) {
    const Synset& s = wordnet.synsets[i];
    const double u = Rng(derive_seed(seed, uint64_t(pos_letter(s.pos)), s.offset)).uniform();
    (u < test_fraction ? split.test : u < test_fraction + val_fraction ? split.val : split.train)
        .push_back(int64_t(i));
  }
  return split;
}

}  // namespace contra::data
