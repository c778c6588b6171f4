// The time buckets of a run's metrics over time: equal spans of simulated time from 0 to the
// run's end (past the workload's duration when events outlast it). While the run plays, its
// counts go into buckets of a recording width; at its end they are merged into the result's
// width, which either the run names (a workload's "time_bucket", --time-bucket, Python's
// time_bucket_ns) or is chosen from what the run did: at least 100 buckets over the duration,
// and at least 4 in each memory hotplug window (MEM_GOING_ONLINE to node_states_set_node(),
// MEM_GOING_OFFLINE to node_states_clear_node()), where the strategies differ.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace slabsim::sim {

// The automatic width's aims.
inline constexpr std::int64_t min_buckets_per_run = 100;
inline constexpr std::int64_t min_buckets_per_hotplug_window = 4;

// The width the run counts in: the named one, or (`requested_ns` 0) the largest power of ten no
// wider than a thousandth of the duration (1 ns at least), so that every automatic width, a
// 1-2-5 step at least as wide, is a whole number of recording buckets.
[[nodiscard]] std::int64_t recording_width_ns(std::int64_t duration_ns, std::int64_t requested_ns);

// How many buckets a run may record: four times those of its duration (a thousand at least).
// A run can go on long past its duration (a 1 us workload whose hotplug waits a 16 ms grace
// period): past this many, the recording width grows tenfold, and the result says so with the
// width it used.
[[nodiscard]] std::int64_t max_recorded_buckets(std::int64_t duration_ns,
                                                std::int64_t recording_ns);

// The automatic width: the widest 1-2-5 step (1, 2 or 5 x 10^k ns) no wider than a hundredth of
// the duration that puts at least 4 buckets in every one of `windows_ns` (those of zero length
// are ignored), but never narrower than `recording_ns`.
[[nodiscard]] std::int64_t automatic_width_ns(std::int64_t duration_ns, std::int64_t recording_ns,
                                              const std::vector<std::int64_t>& windows_ns);

// Buckets of `width_ns` from time 0, created as the run reaches them, at most `max_buckets` of
// them: a time past those makes the width ten times wider. `Bucket` has a start_ns member and
// merge(const Bucket&), which adds another bucket's counts to its own.
template <class Bucket>
class TimeBuckets {
 public:
  // `empty`: a bucket with nothing counted (its start_ns is set here).
  TimeBuckets(std::int64_t width_ns, Bucket empty, std::int64_t max_buckets)
      : width_ns_(width_ns), max_buckets_(max_buckets), empty_(std::move(empty)) {}

  // Room for the buckets until `end_ns` (the run's expected end), 65,536 at most, so that
  // recording does not move them as it reaches new ones.
  void reserve_until(std::int64_t end_ns) {
    buckets_.reserve(static_cast<std::size_t>(std::clamp<std::int64_t>(
        end_ns / width_ns_ + 1, 0, std::min<std::int64_t>(max_buckets_, 65536))));
  }

  // The bucket holding `now_ns` (>= 0). Most calls land in the bucket of the call before: those
  // take no division and no call, the rest is out of line (reach()), so that this inlines into
  // every allocation's accounting.
  Bucket& at(std::int64_t now_ns) {
    if (now_ns >= last_start_ns_ && now_ns < last_end_ns_) [[likely]]
      return buckets_[last_];
    return reach(now_ns);
  }
  // Buckets until `end_ns` exist, the one holding it included, so that idle spans show as such.
  void extend_to(std::int64_t end_ns) { at(std::max<std::int64_t>(end_ns, 0)); }

  // Merges into buckets of `width_ns`, a multiple of the current width.
  void coarsen(std::int64_t width_ns) {
    if (width_ns == width_ns_) return;
    const auto factor = static_cast<std::size_t>(width_ns / width_ns_);
    std::vector<Bucket> merged;
    merged.reserve(buckets_.size() / factor + 1);
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      if (b % factor == 0) {
        merged.push_back(std::move(buckets_[b]));
        merged.back().start_ns = static_cast<std::int64_t>(merged.size() - 1) * width_ns;
      } else {
        merged.back().merge(buckets_[b]);
      }
    }
    buckets_ = std::move(merged);
    width_ns_ = width_ns;
    last_start_ns_ = last_end_ns_ = 0;
  }

  [[nodiscard]] std::int64_t width_ns() const { return width_ns_; }
  [[nodiscard]] std::size_t size() const { return buckets_.size(); }
  [[nodiscard]] const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  [[gnu::noinline]] Bucket& reach(std::int64_t now_ns) {
    while (now_ns / width_ns_ >= max_buckets_)
      coarsen(width_ns_ * 10);
    const auto b = static_cast<std::size_t>(now_ns / width_ns_);
    while (buckets_.size() <= b) {
      buckets_.push_back(empty_);
      buckets_.back().start_ns = static_cast<std::int64_t>(buckets_.size() - 1) * width_ns_;
    }
    last_ = b;
    last_start_ns_ = static_cast<std::int64_t>(b) * width_ns_;
    last_end_ns_ = last_start_ns_ + width_ns_;
    return buckets_[b];
  }

  std::int64_t width_ns_;
  std::int64_t max_buckets_;
  Bucket empty_;
  std::vector<Bucket> buckets_;
  // The bucket at() returned last, and its span.
  std::size_t last_ = 0;
  std::int64_t last_start_ns_ = 0, last_end_ns_ = 0;
};

}  // namespace slabsim::sim
