#include "config/spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <optional>
#include <regex>
#include <set>
#include <unordered_map>

#include "config/json_pointer.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace slabsim::config {

using nlohmann::json;

namespace {

std::shared_ptr<Spec> make(Spec::Kind kind) {
  auto s = std::make_shared<Spec>();
  s->kind = kind;
  return s;
}

std::string quoted_list(const std::vector<std::string>& words, const char* last_sep) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? last_sep : ", ";
    out += fmt::format("\"{}\"", words[i]);
  }
  return out;
}

void report(Diagnostics& out, const std::string& pointer, const Spec& spec, const json& value,
            const std::string& detail = {}) {
  out.error(pointer, fmt::format("expected {}, got {}{}", spec.expectation(), describe_value(value),
                                 detail.empty() ? "" : "; " + detail));
}

// A pattern's regex, compiled once per thread: compiled for every value checked, it made loading
// the default workload cost 10.8 M instructions instead of 1.5 M (a cache per thread keeps this
// safe for callers validating from several threads).
const std::regex& compiled(const std::string& pattern) {
  thread_local std::unordered_map<std::string, std::regex> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

}  // namespace

std::string describe_value(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return fmt::format("a boolean ({})", value.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return fmt::format("an integer ({})", value.dump());
    case json::value_t::number_float:
      return fmt::format("a number ({})", value.dump());
    case json::value_t::string: {
      std::string s = value.get<std::string>();
      if (s.size() > 40) {
        // Cut between two UTF-8 characters: half of one would make dump() throw.
        std::size_t cut = 37;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
          --cut;
        s = s.substr(0, cut) + "...";
      }
      return fmt::format("a string ({})", json(s).dump());
    }
    case json::value_t::array:
      return fmt::format("an array of {} element{}", value.size(), value.size() == 1 ? "" : "s");
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::string Spec::expectation() const {
  switch (kind) {
    case Kind::object:
      return fmt::format("an object ({})", description);
    case Kind::array: {
      std::string count;
      const char* plural = min_items == 1 ? "" : "s";
      if (max_items && *max_items == min_items)
        count = fmt::format("exactly {} element{}", min_items, plural);
      else if (min_items > 0)
        count = fmt::format("at least {} element{}", min_items, plural);
      else
        count = "elements";
      return fmt::format("an array of {}, each {}", count, items->expectation());
    }
    case Kind::integer:
      return fmt::format("an integer from {} to {}", min, max);
    case Kind::number:
      return fmt::format("a number from {} to {}", number_min, number_max);
    case Kind::string:
      return pattern.empty() ? std::string("a string")
                             : fmt::format("a string: {}", pattern_meaning);
    case Kind::enumeration:
      return fmt::format("one of {}", quoted_list(choices, " or "));
    case Kind::boolean:
      return "true or false";
    case Kind::duration:
      return min > 0 ? fmt::format(
                           "a duration of at least {} ns (a number of ns, or a string such "
                           "as \"135ns\", \"1.5us\", \"2ms\")",
                           min)
                     : "a duration (a number of ns, or a string such as \"135ns\", \"1.5us\")";
    case Kind::size:
      return fmt::format(
          "a size of at least {} bytes{} (a number of bytes, or a string such as "
          "\"128MiB\", \"4GiB\")",
          min, multiple_of > 1 ? fmt::format(", a multiple of {}", multiple_of) : "");
    case Kind::cpulist:
      return fmt::format(
          "a list of CPU ids from 0 to {} (an array such as [0, 1] or a cpulist such as \"0-3,8\")",
          max);
  }
  return "a value";
}

bool Spec::validate(const json& value, const std::string& pointer, Diagnostics& out) const {
  switch (kind) {
    case Kind::object:
      return validate_object(value, pointer, out);
    case Kind::array:
      return validate_array(value, pointer, out);
    case Kind::integer:
    case Kind::number:
    case Kind::string:
    case Kind::enumeration:
    case Kind::boolean:
      return validate_scalar(value, pointer, out);
    case Kind::duration:
    case Kind::size:
      return validate_parsed(value, pointer, out);
    case Kind::cpulist:
      return validate_cpulist(value, pointer, out);
  }
  return false;
}

bool Spec::validate_array(const json& value, const std::string& pointer, Diagnostics& out) const {
  if (!value.is_array()) {
    report(out, pointer, *this, value);
    return false;
  }
  bool ok = true;
  if (value.size() < min_items || (max_items && value.size() > *max_items)) {
    report(out, pointer, *this, value);
    ok = false;
  }
  for (std::size_t i = 0; i < value.size(); ++i)
    ok = items->validate(value[i], pointer_append(pointer, i), out) && ok;
  return ok;
}

// Integers, numbers, strings, enumerations and booleans: one value, one report.
bool Spec::validate_scalar(const json& value, const std::string& pointer, Diagnostics& out) const {
  bool ok = false;
  std::string hint;
  switch (kind) {
    case Kind::integer: {
      const bool too_big =
          value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t{INT64_MAX};
      ok = value.is_number_integer() && !too_big && value.get<std::int64_t>() >= min &&
           value.get<std::int64_t>() <= max;
      break;
    }
    case Kind::number:
      ok = value.is_number() && std::isfinite(value.get<double>()) &&
           value.get<double>() >= number_min && value.get<double>() <= number_max;
      break;
    case Kind::string:
      ok = value.is_string() &&
           (pattern.empty() || std::regex_match(value.get<std::string>(), compiled(pattern)));
      break;
    case Kind::enumeration:
      ok = value.is_string() &&
           std::find(choices.begin(), choices.end(), value.get<std::string>()) != choices.end();
      if (!ok && value.is_string())
        if (auto guess = closest_match(value.get<std::string>(), choices))
          hint = fmt::format("did you mean \"{}\"?", *guess);
      break;
    default:  // boolean
      ok = value.is_boolean();
      break;
  }
  if (!ok) report(out, pointer, *this, value, hint);
  return ok;
}

// Durations and sizes: text with a unit, parsed, then bounded.
bool Spec::validate_parsed(const json& value, const std::string& pointer, Diagnostics& out) const {
  std::optional<std::string> why;
  bool in_range = false;
  if (kind == Kind::duration) {
    const auto parsed = parse_duration_ns(value);
    if (const auto* w = std::get_if<std::string>(&parsed))
      why = *w;
    else
      in_range = std::get<std::int64_t>(parsed) >= min;
  } else {
    const auto parsed = parse_size_bytes(value);
    if (const auto* w = std::get_if<std::string>(&parsed)) {
      why = *w;
    } else {
      const auto bytes = std::get<std::uint64_t>(parsed);
      in_range = bytes >= static_cast<std::uint64_t>(min) && bytes % multiple_of == 0;
    }
  }
  if (why) {
    out.error(pointer, fmt::format("expected {}, got {}", *why, describe_value(value)));
    return false;
  }
  if (!in_range) report(out, pointer, *this, value);
  return in_range;
}

bool Spec::validate_cpulist(const json& value, const std::string& pointer, Diagnostics& out) const {
  if (value.is_array()) {  // name the wrong element itself
    bool ok = true;
    std::set<std::int64_t> seen;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const auto& v = value[i];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max) {
        out.error(pointer_append(pointer, i),
                  fmt::format("expected a CPU id from 0 to {}, got {}", max, describe_value(v)));
        ok = false;
      } else if (!seen.insert(v.get<std::int64_t>()).second) {
        out.error(pointer_append(pointer, i),
                  fmt::format("expected each CPU once, got CPU {} a second time", v.dump()));
        ok = false;
      }
    }
    return ok;
  }
  auto parsed = parse_cpulist(value, static_cast<int>(max));
  if (auto* why = std::get_if<std::string>(&parsed)) {
    out.error(pointer, fmt::format("expected {}, got {}", *why, describe_value(value)));
    return false;
  }
  return true;
}

bool Spec::validate_object(const json& value, const std::string& pointer, Diagnostics& out) const {
  if (!value.is_object()) {
    report(out, pointer, *this, value);
    return false;
  }
  bool ok = true;
  std::vector<std::string> known;
  for (const auto& f : fields)
    known.push_back(f.key);
  for (const auto& [key, child] : value.items()) {
    const std::string& name = key;  // clang 14 cannot capture a structured binding
    auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == name; });
    if (field == fields.end()) {
      auto guess = closest_match(key, known);
      out.error(pointer_append(pointer, key),
                fmt::format("unknown key \"{}\"{}; expected one of: {}", key,
                            guess ? fmt::format(" (did you mean \"{}\"?)", *guess) : "",
                            fmt::join(known, ", ")));
      ok = false;
      continue;
    }
    ok = field->spec->validate(child, pointer_append(pointer, key), out) && ok;
  }
  for (const auto& f : fields) {
    if (f.required && !value.contains(f.key)) {
      out.error(pointer, fmt::format("missing required key \"{}\": expected {} ({})", f.key,
                                     f.spec->expectation(), f.description));
      ok = false;
    }
  }
  for (const auto& group : exactly_one_of) {
    std::vector<std::string> present;
    for (const auto& k : group)
      if (value.contains(k)) present.push_back(k);
    if (present.size() != 1) {
      out.error(pointer,
                fmt::format("expected exactly one of {}, found {}", quoted_list(group, " or "),
                            present.empty() ? "none" : quoted_list(present, " and ")));
      ok = false;
    }
  }
  for (const auto& [key, needed] : needs) {
    if (value.contains(key) && !value.contains(needed)) {
      out.error(pointer_append(pointer, key),
                fmt::format("\"{}\" is only allowed together with \"{}\"", key, needed));
      ok = false;
    }
  }
  return ok;
}

void Spec::apply_defaults(json& value) const {
  if (kind == Kind::array && value.is_array()) {
    for (auto& v : value)
      items->apply_defaults(v);
    return;
  }
  if (kind != Kind::object || !value.is_object()) return;
  for (const auto& f : fields) {
    if (value.contains(f.key))
      f.spec->apply_defaults(value[f.key]);
    else if (f.default_value)
      value[f.key] = *f.default_value;
  }
}

json Spec::json_schema() const {
  static const char* duration_pattern = R"(^[0-9]+(\.[0-9]+)?\s*(ns|us|µs|ms|s)$)";
  static const char* size_pattern = R"(^[0-9]+(\.[0-9]+)?\s*([KkMGT](iB)?|B)?$)";
  static const char* cpulist_pattern = R"(^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$)";
  switch (kind) {
    case Kind::object: {
      json s = {{"type", "object"}, {"additionalProperties", false}};
      if (!description.empty()) s["description"] = description;
      json props = json::object();
      json req = json::array();
      for (const auto& f : fields) {
        json p = f.spec->json_schema();
        p["description"] = f.description;
        if (f.default_value) p["default"] = *f.default_value;
        props[f.key] = p;
        if (f.required) req.push_back(f.key);
      }
      s["properties"] = props;
      if (!req.empty()) s["required"] = req;
      json all_of = json::array();
      for (const auto& group : exactly_one_of) {
        json one_of = json::array();
        for (const auto& k : group)
          one_of.push_back({{"required", {k}}});
        all_of.push_back({{"oneOf", one_of}});
      }
      if (!all_of.empty()) s["allOf"] = all_of;
      if (!needs.empty()) {
        json dep = json::object();
        for (const auto& [k, n] : needs)
          dep[k].push_back(n);
        s["dependentRequired"] = dep;
      }
      return s;
    }
    case Kind::array: {
      json s = {{"type", "array"}, {"items", items->json_schema()}};
      if (min_items > 0) s["minItems"] = min_items;
      if (max_items) s["maxItems"] = *max_items;
      return s;
    }
    case Kind::integer:
      return {{"type", "integer"}, {"minimum", min}, {"maximum", max}};
    case Kind::number:
      return {{"type", "number"}, {"minimum", number_min}, {"maximum", number_max}};
    case Kind::string: {
      json s = {{"type", "string"}};
      if (!pattern.empty()) s["pattern"] = "^(" + pattern + ")$";
      return s;
    }
    case Kind::enumeration:
      return {{"enum", choices}};
    case Kind::boolean:
      return {{"type", "boolean"}};
    case Kind::duration:
      return {{"oneOf",
               {{{"type", "integer"}, {"minimum", min}},
                {{"type", "string"}, {"pattern", duration_pattern}}}}};
    case Kind::size:
      return {{"oneOf",
               {{{"type", "integer"}, {"minimum", min}},
                {{"type", "string"}, {"pattern", size_pattern}}}}};
    case Kind::cpulist:
      return {{"oneOf",
               {{{"type", "array"},
                 {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", max}}},
                 {"uniqueItems", true}},
                {{"type", "string"}, {"pattern", cpulist_pattern}}}}};
  }
  return json::object();
}

SpecPtr object(std::string description, std::vector<Field> fields) {
  auto s = make(Spec::Kind::object);
  s->description = std::move(description);
  s->fields = std::move(fields);
  return s;
}

SpecPtr with_exactly_one_of(SpecPtr object_spec, std::vector<std::string> keys) {
  auto s = std::make_shared<Spec>(*object_spec);
  s->exactly_one_of.push_back(std::move(keys));
  return s;
}

SpecPtr with_needs(SpecPtr object_spec, std::string key, std::string needed) {
  auto s = std::make_shared<Spec>(*object_spec);
  s->needs.emplace_back(std::move(key), std::move(needed));
  return s;
}

SpecPtr array(SpecPtr items, std::size_t min_items, std::optional<std::size_t> max_items) {
  auto s = make(Spec::Kind::array);
  s->items = std::move(items);
  s->min_items = min_items;
  s->max_items = max_items;
  return s;
}

SpecPtr integer(std::int64_t min, std::int64_t max) {
  auto s = make(Spec::Kind::integer);
  s->min = min;
  s->max = max;
  return s;
}

SpecPtr number(double min, double max) {
  auto s = make(Spec::Kind::number);
  s->number_min = min;
  s->number_max = max;
  return s;
}

SpecPtr string(std::string pattern, std::string meaning) {
  auto s = make(Spec::Kind::string);
  s->pattern = std::move(pattern);
  s->pattern_meaning = std::move(meaning);
  return s;
}

SpecPtr enumeration(std::vector<std::string> choices) {
  auto s = make(Spec::Kind::enumeration);
  s->choices = std::move(choices);
  return s;
}

SpecPtr boolean() {
  return make(Spec::Kind::boolean);
}

SpecPtr duration(std::int64_t min_ns) {
  auto s = make(Spec::Kind::duration);
  s->min = min_ns;
  return s;
}

SpecPtr size(std::uint64_t min_bytes, std::uint64_t multiple_of) {
  auto s = make(Spec::Kind::size);
  s->min = static_cast<std::int64_t>(min_bytes);
  s->multiple_of = multiple_of;
  return s;
}

SpecPtr cpulist(int max_cpu) {
  auto s = make(Spec::Kind::cpulist);
  s->max = max_cpu;
  return s;
}

Field required(std::string key, SpecPtr spec, std::string description) {
  return {std::move(key), std::move(spec), std::move(description), true, std::nullopt};
}

Field optional(std::string key, SpecPtr spec, std::string description,
               std::optional<json> default_value) {
  return {std::move(key), std::move(spec), std::move(description), false, std::move(default_value)};
}

}  // namespace slabsim::config
