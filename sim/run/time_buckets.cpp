#include "run/time_buckets.hpp"

#include <algorithm>

namespace slabsim::sim {

namespace {

// The 1-2-5 steps from `from_ns` (a power of ten) up to `to_ns`, narrowest first.
std::vector<std::int64_t> steps_between(std::int64_t from_ns, std::int64_t to_ns) {
  std::vector<std::int64_t> steps;
  for (std::int64_t decade = from_ns; decade <= to_ns; decade *= 10)
    for (std::int64_t m : {1, 2, 5})
      if (decade * m <= to_ns) steps.push_back(decade * m);
  return steps;
}

}  // namespace

std::int64_t recording_width_ns(std::int64_t duration_ns, std::int64_t requested_ns) {
  if (requested_ns > 0) return requested_ns;
  std::int64_t width = 1;
  while (width * 10 <= duration_ns / 1000)
    width *= 10;
  return width;
}

std::int64_t max_recorded_buckets(std::int64_t duration_ns, std::int64_t recording_ns) {
  return std::max<std::int64_t>(1000, 4 * (duration_ns / recording_ns + 1));
}

std::int64_t automatic_width_ns(std::int64_t duration_ns, std::int64_t recording_ns,
                                const std::vector<std::int64_t>& windows_ns) {
  std::int64_t shortest = 0;
  for (std::int64_t w : windows_ns)
    if (w > 0) shortest = shortest == 0 ? w : std::min(shortest, w);
  const auto steps =
      steps_between(recording_ns, std::max(recording_ns, duration_ns / min_buckets_per_run));
  for (auto it = steps.rbegin(); it != steps.rend(); ++it)
    if (shortest == 0 || shortest / *it >= min_buckets_per_hotplug_window) return *it;
  return recording_ns;
}

}  // namespace slabsim::sim
