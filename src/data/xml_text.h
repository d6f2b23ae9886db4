// Internal to src/data: the little XML the metadata readers need (openclipart's SVG metadata,
// CLDR's emoji annotations): find an element by local name, read an attribute, decode character
// data. Not a validating parser: it reads well-formed files and never fails on others (what
// it cannot find is absent).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace contra::data::detail {

/// One element found in a text: [begin, end) spans the whole element, `attributes` its start
/// tag's attribute text, `content` what lies between the start and end tags (empty for <x/>).
struct XmlElement {
  bool found = false;
  size_t begin = 0, end = 0;
  std::string_view attributes, content;
};

/// The first element at or after `from` whose local name is `local_name` under any prefix
/// (<dc:title>, <title>, <ns0:title>), with its matching end tag (same qualified name, nesting
/// counted). Comments, CDATA sections and processing instructions are skipped over. An element
/// without an end tag is not found.
XmlElement find_xml_element(std::string_view xml, std::string_view local_name, size_t from = 0);

/// The value of attribute `name` (exact qualified name, e.g. "type", "xml:lang") in a start tag's
/// attribute text, entities decoded; nullopt when absent.
std::optional<std::string> xml_attribute(std::string_view attributes, std::string_view name);

/// The character data of XML content: tags dropped (each becomes a space), comments dropped,
/// CDATA sections kept verbatim, entities decoded (the five named ones, &nbsp; as a space,
/// decimal and hex character references; an unknown or invalid one is kept as written).
std::string xml_text(std::string_view content);

/// Appends code point `cp` to `out` as UTF-8 (cp must be a Unicode scalar value).
void append_utf8(std::string& out, uint32_t cp);

/// `bytes` as UTF-8: unchanged when valid UTF-8 and not declared otherwise; read as Latin-1
/// (ISO-8859-1) when its XML declaration says so or when it is not valid UTF-8.
std::string xml_as_utf8(std::string_view bytes);

}  // namespace contra::data::detail
