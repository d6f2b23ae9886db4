#include "xml_text.h"

#include <algorithm>
#include <cctype>

#include "contra/data/text.h"

namespace contra::data::detail {
namespace {

bool xml_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == ':' || u >= 0x80;
}

/// Past the markup that starts at `at` (a '<'): comments, CDATA, declarations and processing
/// instructions end at their own terminators, tags at the next '>' outside quotes.
size_t xml_skip_markup(std::string_view xml, size_t at) {
  const auto past = [&](std::string_view terminator) {
    const size_t e = xml.find(terminator, at);
    return e == std::string_view::npos ? xml.size() : e + terminator.size();
  };
  if (xml.compare(at, 4, "<!--") == 0) return past("-->");
  if (xml.compare(at, 9, "<![CDATA[") == 0) return past("]]>");
  if (xml.compare(at, 2, "<?") == 0) return past("?>");
  char quote = 0;
  for (size_t i = at + 1; i < xml.size(); ++i) {
    if (quote) {
      if (xml[i] == quote) quote = 0;
    } else if (xml[i] == '"' || xml[i] == '\'') {
      quote = xml[i];
    } else if (xml[i] == '>') {
      return i + 1;
    }
  }
  return xml.size();
}

/// The tag at `at` (a '<'): its qualified name, whether it is an end tag or self-closing, and
/// where it ends. Not a tag (comment, CDATA, ...): name empty.
struct XmlTag {
  std::string_view name, attributes;
  bool closing = false, self_closing = false;
  size_t end = 0;
};

XmlTag xml_read_tag(std::string_view xml, size_t at) {
  XmlTag tag;
  tag.end = xml_skip_markup(xml, at);
  size_t i = at + 1;
  if (i < xml.size() && (xml[i] == '!' || xml[i] == '?')) return tag;
  if (i < xml.size() && xml[i] == '/') {
    tag.closing = true;
    ++i;
  }
  const size_t name_begin = i;
  while (i < xml.size() && xml_name_char(xml[i])) ++i;
  tag.name = xml.substr(name_begin, i - name_begin);
  // Attributes: up to the closing '>' (and a '/' before it).
  size_t attr_end = tag.end >= 1 && tag.end <= xml.size() && xml[tag.end - 1] == '>' ? tag.end - 1 : tag.end;
  if (attr_end > i && xml[attr_end - 1] == '/') {
    tag.self_closing = true;
    --attr_end;
  }
  tag.attributes = attr_end > i ? xml.substr(i, attr_end - i) : std::string_view();
  return tag;
}

std::string_view xml_local_name(std::string_view qname) {
  const size_t colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

/// Decodes the entity starting at s[i] == '&' into out; returns the index past it, or i + 1
/// with the '&' kept when it is not one we know.
size_t xml_decode_entity(std::string_view s, size_t i, std::string& out) {
  const size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) {
    out += '&';
    return i + 1;
  }
  const std::string_view name = s.substr(i + 1, semi - i - 1);
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
  for (const auto& [n, v] : kNamed) {
    if (name == n) {
      out += v;
      return semi + 1;
    }
  }
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    uint32_t cp = 0;
    bool ok = !digits.empty();
    for (char c : digits) {
      const auto u = static_cast<unsigned char>(c);
      int d = -1;
      if (std::isdigit(u)) d = c - '0';
      else if (hex && std::isxdigit(u)) d = std::tolower(u) - 'a' + 10;
      if (d < 0 || cp > 0x10FFFF) {
        ok = false;
        break;
      }
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
    }
    if (ok && cp >= 0x20 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
      append_utf8(out, cp);
      return semi + 1;
    }
    if (ok && (cp == 0x9 || cp == 0xA || cp == 0xD)) {
      out += ' ';
      return semi + 1;
    }
  }
  out += '&';
  return i + 1;
}

}  // namespace

XmlElement find_xml_element(std::string_view xml, std::string_view local_name, size_t from) {
  XmlElement found;
  size_t at = xml.find('<', from);
  while (at != std::string_view::npos) {
    const XmlTag tag = xml_read_tag(xml, at);
    if (!tag.closing && !tag.name.empty() && xml_local_name(tag.name) == local_name) {
      if (tag.self_closing) {
        found.found = true;
        found.begin = at;
        found.end = tag.end;
        found.attributes = tag.attributes;
        return found;
      }
      // The matching end tag: same qualified name, nesting counted.
      int depth = 1;
      size_t scan = xml.find('<', tag.end);
      while (scan != std::string_view::npos) {
        const XmlTag inner = xml_read_tag(xml, scan);
        if (inner.name == tag.name && !inner.self_closing) depth += inner.closing ? -1 : 1;
        if (depth == 0) {
          found.found = true;
          found.begin = at;
          found.end = inner.end;
          found.attributes = tag.attributes;
          found.content = xml.substr(tag.end, scan - tag.end);
          return found;
        }
        scan = xml.find('<', inner.end);
      }
      return found;  // no end tag
    }
    at = xml.find('<', tag.end);
  }
  return found;
}

std::optional<std::string> xml_attribute(std::string_view attributes, std::string_view name) {
  size_t i = 0;
  while (i < attributes.size()) {
    while (i < attributes.size() && !xml_name_char(attributes[i])) ++i;
    const size_t name_begin = i;
    while (i < attributes.size() && xml_name_char(attributes[i])) ++i;
    const std::string_view attr = attributes.substr(name_begin, i - name_begin);
    while (i < attributes.size() && std::isspace(static_cast<unsigned char>(attributes[i]))) ++i;
    if (i >= attributes.size() || attributes[i] != '=') continue;
    ++i;
    while (i < attributes.size() && std::isspace(static_cast<unsigned char>(attributes[i]))) ++i;
    if (i >= attributes.size() || (attributes[i] != '"' && attributes[i] != '\'')) continue;
    const char quote = attributes[i++];
    const size_t close = attributes.find(quote, i);
    if (close == std::string_view::npos) return std::nullopt;
    if (attr == name) return xml_text(attributes.substr(i, close - i));
    i = close + 1;
  }
  return std::nullopt;
}

std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '<') {
      if (s.compare(i, 9, "<![CDATA[") == 0) {
        const size_t e = s.find("]]>", i + 9);
        const size_t stop = e == std::string_view::npos ? s.size() : e;
        out.append(s.substr(i + 9, stop - i - 9));
        i = e == std::string_view::npos ? s.size() : e + 3;
        continue;
      }
      i = xml_skip_markup(s, i);
      out += ' ';
    } else if (s[i] == '&') {
      i = xml_decode_entity(s, i, out);
    } else {
      out += s[i++];
    }
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string xml_as_utf8(std::string_view bytes) {
  bool latin1 = false;
  if (bytes.compare(0, 5, "<?xml") == 0) {
    const size_t end = bytes.find("?>");
    std::string decl(bytes.substr(0, end == std::string_view::npos ? 0 : end));
    std::transform(decl.begin(), decl.end(), decl.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    latin1 = decl.find("iso-8859-1") != std::string::npos || decl.find("latin1") != std::string::npos;
  }
  if (!latin1 && find_invalid_utf8(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char c : bytes) append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

}  // namespace contra::data::detail
