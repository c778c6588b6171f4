#include "config/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace slabsim::config {

namespace {

struct NumberAndSuffix {
  double number;
  std::string suffix;
};

// "1.5 us" -> {1.5, "us"}; nullopt when the text does not start with a plain decimal number.
std::optional<NumberAndSuffix> split_number(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0 || std::count(text.begin(), text.begin() + i, '.') > 1 || text[0] == '.' ||
      text[i - 1] == '.')
    return std::nullopt;
  double number = std::stod(std::string(text.substr(0, i)));
  std::size_t j = i;
  while (j < text.size() && text[j] == ' ')
    ++j;
  return NumberAndSuffix{number, std::string(text.substr(j))};
}

bool is_whole(double x) {
  return std::isfinite(x) && std::floor(x) == x;
}

}  // namespace

Parsed<std::int64_t> parse_duration_ns(const nlohmann::json& value) {
  static const std::string forms =
      "(a whole number of ns, or a string such as \"135ns\", \"1.5us\", \"2ms\", \"1s\")";
  const auto expected = [](const char* what) { return fmt::format("{} {}", what, forms); };
  double ns = 0;
  if (value.is_number()) {
    ns = value.get<double>();
  } else if (value.is_string()) {
    std::string_view text = value.get_ref<const std::string&>();
    if (!text.empty() && text.front() == '-') return expected("a duration that is not negative");
    auto parts = split_number(text);
    if (!parts) return expected("a duration");
    static const std::pair<const char*, double> units[] = {
        {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}};
    auto unit = std::find_if(std::begin(units), std::end(units),
                             [&](const auto& u) { return parts->suffix == u.first; });
    if (unit == std::end(units)) return expected("a duration with a unit of ns, us, ms or s");
    ns = parts->number * unit->second;
    // Keep 1.1us exact despite binary floating point.
    if (std::fabs(ns - std::round(ns)) < 1e-6) ns = std::round(ns);
  } else {
    return expected("a duration");
  }
  if (ns < 0) return expected("a duration that is not negative");
  if (!is_whole(ns)) return expected("a duration in whole ns (slabsim's time unit)");
  if (ns > 9.0e15) return expected("a duration below 104 days (2^53 ns)");
  return static_cast<std::int64_t>(ns);
}

Parsed<std::uint64_t> parse_size_bytes(const nlohmann::json& value) {
  static const char* expected =
      "a size: a whole number of bytes, or a string such as \"128MiB\", \"4G\", \"64KiB\"";
  double bytes = 0;
  if (value.is_number()) {
    bytes = value.get<double>();
  } else if (value.is_string()) {
    auto parts = split_number(value.get<std::string>());
    if (!parts) return std::string(expected);
    std::string s = parts->suffix;
    if (s.size() == 3 && s.substr(1) == "iB") s = s.substr(0, 1);
    if (s == "B") s.clear();
    double scale = 0;
    if (s.empty())
      scale = 1;
    else if (s == "K" || s == "k")
      scale = 1024.0;
    else if (s == "M")
      scale = 1024.0 * 1024;
    else if (s == "G")
      scale = 1024.0 * 1024 * 1024;
    else if (s == "T")
      scale = 1024.0 * 1024 * 1024 * 1024;
    else
      return std::string(expected);
    bytes = parts->number * scale;
  } else {
    return std::string(expected);
  }
  if (!is_whole(bytes) || bytes < 0) return std::string(expected) + " (whole bytes)";
  if (bytes >= 1.8e19) return std::string(expected) + " below 16 EiB";
  return static_cast<std::uint64_t>(bytes);
}

Parsed<std::vector<int>> parse_cpulist(const nlohmann::json& value, int max_cpu) {
  const std::string expected = fmt::format(
      "a list of CPU ids from 0 to {}: an array such as [0, 1, 2] or a cpulist string such as "
      "\"0-3,8\"",
      max_cpu);
  std::vector<int> ids;
  if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_number_integer())
        return expected + fmt::format("; element {} is {}", ids.size(), v.dump());
      const auto id = v.get<long long>();
      if (id < 0 || id > max_cpu)
        return expected + fmt::format("; element {} is {}, outside 0..{}", ids.size(), id, max_cpu);
      ids.push_back(static_cast<int>(id));
    }
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find(',', pos);
      if (end == std::string::npos) end = text.size();
      const std::string item = text.substr(pos, end - pos);
      const auto dash = item.find('-');
      auto parse_id = [&](const std::string& s) -> std::optional<int> {
        if (s.empty() || s.size() > 9 ||
            !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(c); }))
          return std::nullopt;
        return std::stoi(s);
      };
      const auto first = parse_id(item.substr(0, dash));
      const auto last = dash == std::string::npos ? first : parse_id(item.substr(dash + 1));
      if (!first || !last || *last < *first)
        return expected + fmt::format("; \"{}\" is not an id or an ascending range", item);
      if (*last > max_cpu) return expected + fmt::format("; \"{}\" goes above {}", item, max_cpu);
      for (int id = *first; id <= *last; ++id)
        ids.push_back(id);
      pos = end + 1;
      if (end == text.size() - 1) return expected + "; the list ends with a comma";
    }
  } else {
    return expected;
  }
  std::sort(ids.begin(), ids.end());
  if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end())
    return expected + fmt::format("; CPU {} is listed twice", *dup);
  return ids;
}

std::string format_cpulist(const std::vector<int>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1)
      ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", ids[i]) : fmt::format("{}-{}", ids[i], ids[j]);
    i = j + 1;
  }
  return out;
}

std::int64_t validated_duration_ns(const nlohmann::json& value) {
  return std::get<std::int64_t>(parse_duration_ns(value));
}

std::uint64_t validated_size_bytes(const nlohmann::json& value) {
  return std::get<std::uint64_t>(parse_size_bytes(value));
}

}  // namespace slabsim::config
