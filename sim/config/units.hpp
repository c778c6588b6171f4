// Values with units in input files: durations (ns), sizes (bytes) and Linux cpulists.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <variant>
#include <vector>

namespace slabsim::config {

// Either the value or a sentence saying what was expected.
template <typename T>
using Parsed = std::variant<T, std::string>;

// A number of nanoseconds, or a string "135ns", "1.5us", "2ms", "1s". Whole ns only.
Parsed<std::int64_t> parse_duration_ns(const nlohmann::json& value);
// A number of bytes, or a string "128MiB", "4G", "4096": binary K/M/G/T as the kernel's
// memparse() reads them.
Parsed<std::uint64_t> parse_size_bytes(const nlohmann::json& value);
// The value of a duration or size the input's spec has already validated (the loaders' reads).
std::int64_t validated_duration_ns(const nlohmann::json& value);
std::uint64_t validated_size_bytes(const nlohmann::json& value);
// An array of CPU ids, or a cpulist string "0-3,8,10-11" as in /sys/devices/system/node/*/cpulist.
// Ids come back sorted; a repeated id is an error.
Parsed<std::vector<int>> parse_cpulist(const nlohmann::json& value, int max_cpu);

// "0-3,8" from sorted ids, the form numactl and sysfs use.
std::string format_cpulist(const std::vector<int>& sorted_ids);

}  // namespace slabsim::config
