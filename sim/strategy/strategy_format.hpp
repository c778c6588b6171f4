// User-defined locking strategies in JSON: a preset to start from and the knobs to change.
#pragma once

#include <string>

#include "allocator/strategy.hpp"
#include "config/json_document.hpp"
#include "config/spec.hpp"

namespace slabsim::strategy {

const config::SpecPtr& strategy_spec();

// Validates and resolves a strategy document (file, JSON path, expectation on error).
alloc::Strategy load_strategy(const config::JsonDocument& document);
// A preset name, or a path to a strategy file.
alloc::Strategy load_strategy(const std::string& preset_or_path);

// "get_online_cpus > slab_mutex": lock steps by the kernel functions that take them.
std::string describe_steps(const std::vector<alloc::LockStep>& steps);

// The knobs as JSON, in the file format (what `slabsim strategies --json` and results show).
nlohmann::json to_json(const alloc::Strategy& s);

}  // namespace slabsim::strategy
