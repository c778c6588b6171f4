// The workload's timed events in the order they are played: each delayed by its jitter
// (RunOptions::jitter_ns, drawn from the seed on a stream of its own, so that the workload's own
// draws stay the same), then stably sorted by time. Event tasks take the next due event whoever's
// turn it is, so events due together race; CPUs look at when the next one comes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "workload/workload.hpp"

namespace slabsim::sim {

class EventQueue {
 public:
  EventQueue(const std::vector<workload::Event>& events, std::uint64_t seed,
             std::int64_t jitter_ns);

  [[nodiscard]] bool empty() const { return next_ >= events_.size(); }
  [[nodiscard]] std::int64_t next_at() const { return events_[next_].at_ns; }
  // The next event, now played by the caller. The reference stays valid for the run.
  const workload::Event& take() { return events_[next_++]; }
  // When the first event still to come after `now` is due; `otherwise` if there is none.
  [[nodiscard]] std::int64_t first_after(std::int64_t now, std::int64_t otherwise) const {
    for (std::size_t i = next_; i < events_.size(); ++i)
      if (events_[i].at_ns > now) return events_[i].at_ns;
    return otherwise;
  }

 private:
  std::vector<workload::Event> events_;
  std::size_t next_ = 0;
};

}  // namespace slabsim::sim
