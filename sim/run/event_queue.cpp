#include "run/event_queue.hpp"

#include <algorithm>
#include <random>

namespace slabsim::sim {

EventQueue::EventQueue(const std::vector<workload::Event>& events, std::uint64_t seed,
                       std::int64_t jitter_ns)
    : events_(events) {
  if (jitter_ns <= 0) return;
  std::mt19937_64 jitter(seed ^ 0x6a09e667f3bcc909ull);
  for (auto& e : events_)
    e.at_ns += static_cast<std::int64_t>(jitter() % static_cast<std::uint64_t>(jitter_ns + 1));
  std::stable_sort(
      events_.begin(), events_.end(),
      [](const workload::Event& a, const workload::Event& b) { return a.at_ns < b.at_ns; });
}

}  // namespace slabsim::sim
