// The actors waiting to run, in the engine's tie rule's order: by the time they are due, then by
// when that wait was registered (sim/engine/simulation.hpp, "Ties"). Each actor has one slot and
// is listed at most once. A tournament tree over the slots: O(log n) per update, no allocation
// once grown, and the first actor read in O(1), which a std::set would not give without a node
// per wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace slabsim::sim {

class RunQueue {
 public:
  // A slot for a new actor, not listed. Slots are numbered from 0 in the order they are added.
  std::size_t add() {
    if (count_ == capacity_) grow();
    return count_++;
  }
  // Listed at `due`, behind every wait registered before; replaces the slot's earlier listing.
  void list(std::size_t slot, std::int64_t due) {
    keys_[slot] = {due, registered_++};
    update(slot);
  }
  void unlist(std::size_t slot) {
    keys_[slot] = unlisted;
    update(slot);
  }
  [[nodiscard]] bool empty() const { return capacity_ == 0 || keys_[first()].due == unlisted.due; }
  // The slot that runs next; meaningful when !empty().
  [[nodiscard]] std::size_t first() const { return winner(1); }
  [[nodiscard]] std::int64_t due(std::size_t slot) const { return keys_[slot].due; }

 private:
  struct Key {
    std::int64_t due;
    std::uint64_t number;  // registration order
  };
  static constexpr Key unlisted = {std::numeric_limits<std::int64_t>::max(),
                                   std::numeric_limits<std::uint64_t>::max()};

  [[nodiscard]] bool before(std::size_t a, std::size_t b) const {
    const Key& x = keys_[a];
    const Key& y = keys_[b];
    return x.due != y.due ? x.due < y.due : x.number < y.number;
  }
  // Nodes 1 .. capacity_-1 hold the winner of their subtree; node capacity_ + s is slot s.
  [[nodiscard]] std::size_t winner(std::size_t node) const {
    return node >= capacity_ ? node - capacity_ : tree_[node];
  }
  void play(std::size_t node) {
    const std::size_t a = winner(2 * node);
    const std::size_t b = winner(2 * node + 1);
    tree_[node] = static_cast<std::uint32_t>(before(b, a) ? b : a);
  }
  void update(std::size_t slot) {
    for (std::size_t node = (capacity_ + slot) / 2; node >= 1; node /= 2)
      play(node);
  }
  void grow() {
    capacity_ = capacity_ ? 2 * capacity_ : 8;
    keys_.resize(capacity_, unlisted);
    tree_.assign(capacity_, 0);
    for (std::size_t node = capacity_ - 1; node >= 1; --node)
      play(node);
  }

  std::vector<Key> keys_;            // per slot
  std::vector<std::uint32_t> tree_;  // per internal node
  std::size_t capacity_ = 0;         // a power of two
  std::size_t count_ = 0;
  std::uint64_t registered_ = 0;
};

}  // namespace slabsim::sim
