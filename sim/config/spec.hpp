// Declarative description of an input format. One declaration gives three things: validation
// with JSON-path diagnostics, defaults, and the JSON Schema that editors use (SST- and
// Ramulator-style: each parameter is declared once, with description, default and bounds).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.hpp"

namespace slabsim::config {

struct Spec;
using SpecPtr = std::shared_ptr<const Spec>;

struct Field {
  std::string key;
  SpecPtr spec;
  std::string description;
  bool required = false;
  std::optional<nlohmann::json> default_value;
};

// A declaration is plain data, built with the functions below and then shared read-only.
struct Spec {
  enum class Kind {
    object,
    array,
    integer,
    number,
    string,
    enumeration,
    boolean,
    duration,
    size,
    cpulist
  };

  Kind kind;
  std::string description;  // objects: what the object is
  std::vector<Field> fields;
  std::vector<std::vector<std::string>> exactly_one_of;    // groups of keys
  std::vector<std::pair<std::string, std::string>> needs;  // key -> key it needs
  SpecPtr items;
  std::size_t min_items = 0;
  std::optional<std::size_t> max_items;
  std::int64_t min = 0, max = 0;          // integer, duration (ns)
  double number_min = 0, number_max = 0;  // number
  std::string pattern, pattern_meaning;
  std::vector<std::string> choices;
  std::uint64_t multiple_of = 1;  // size

  // Checks `value` at `pointer`, reporting every problem into `out`; true if nothing was wrong.
  bool validate(const nlohmann::json& value, const std::string& pointer, Diagnostics& out) const;
  // Fills in the declared defaults of missing optional fields, recursively. Call after validate.
  void apply_defaults(nlohmann::json& value) const;
  // JSON Schema (draft 2020-12) for this value.
  [[nodiscard]] nlohmann::json json_schema() const;
  // "an integer from 0 to 1023": the "expected ..." part of a diagnostic.
  [[nodiscard]] std::string expectation() const;

 private:
  // validate() by kind.
  bool validate_object(const nlohmann::json& value, const std::string& pointer,
                       Diagnostics& out) const;
  bool validate_array(const nlohmann::json& value, const std::string& pointer,
                      Diagnostics& out) const;
  bool validate_scalar(const nlohmann::json& value, const std::string& pointer,
                       Diagnostics& out) const;
  bool validate_parsed(const nlohmann::json& value, const std::string& pointer,
                       Diagnostics& out) const;
  bool validate_cpulist(const nlohmann::json& value, const std::string& pointer,
                        Diagnostics& out) const;
};

SpecPtr object(std::string description, std::vector<Field> fields);
// Object constraints: exactly one of `keys` is present; `key` may only appear together with
// `needed`.
SpecPtr with_exactly_one_of(SpecPtr object_spec, std::vector<std::string> keys);
SpecPtr with_needs(SpecPtr object_spec, std::string key, std::string needed);
SpecPtr array(SpecPtr items, std::size_t min_items = 0,
              std::optional<std::size_t> max_items = std::nullopt);
SpecPtr integer(std::int64_t min, std::int64_t max);
SpecPtr number(double min, double max);  // any finite JSON number in [min, max]
// `pattern` is a regex the whole string must match; `meaning` says it in words.
SpecPtr string(std::string pattern = {}, std::string meaning = {});
SpecPtr enumeration(std::vector<std::string> choices);
SpecPtr boolean();
SpecPtr duration(std::int64_t min_ns);
SpecPtr size(std::uint64_t min_bytes, std::uint64_t multiple_of = 1);
SpecPtr cpulist(int max_cpu);

Field required(std::string key, SpecPtr spec, std::string description);
Field optional(std::string key, SpecPtr spec, std::string description,
               std::optional<nlohmann::json> default_value = std::nullopt);

// Describes a JSON value for the "got ..." part of a diagnostic: "a string (\"nromal\")".
std::string describe_value(const nlohmann::json& value);

}  // namespace slabsim::config
