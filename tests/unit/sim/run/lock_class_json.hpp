// A lock class as a result document's "lock_waits" holds it, for tests of what reads results
// (headline metrics, compare's reports): wait and hold totals in write mode, none in read mode.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace slabsim::sim::test_support {

inline nlohmann::json lock_class_json(const std::string& name, std::int64_t wait, std::int64_t hold,
                                      int contentions) {
  auto times = [](std::int64_t total) {
    return nlohmann::json{{"waittime", {{"total_ns", total}}}, {"holdtime", {{"total_ns", total}}}};
  };
  nlohmann::json c = {{"class", name}, {"contentions", contentions}, {"read", times(0)}};
  c["write"] = {{"waittime", {{"total_ns", wait}}}, {"holdtime", {{"total_ns", hold}}}};
  return c;
}

}  // namespace slabsim::sim::test_support
