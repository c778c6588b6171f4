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
  void list(std::size_t slot, std::int64_t due) { update(slot, {due, registered_++}); }
  void unlist(std::size_t slot) { update(slot, unlisted); }
  [[nodiscard]] bool empty() const { return capacity_ == 0 || nodes_[1].key.due == unlisted.due; }
  // The slot that runs next; meaningful when !empty().
  [[nodiscard]] std::size_t first() const { return nodes_[1].slot; }
  [[nodiscard]] std::int64_t due(std::size_t slot) const {
    return nodes_[capacity_ + slot].key.due;
  }

 private:
  struct Key {
    std::int64_t due;
    std::uint64_t number;  // registration order
  };
  static constexpr Key unlisted = {std::numeric_limits<std::int64_t>::max(),
                                   std::numeric_limits<std::uint64_t>::max()};
  // A node holds the key and slot of its subtree's winner, so that an update reads the two
  // children of each node on its path, side by side, and no slot's key elsewhere (with 1,024
  // actors, keys looked up by slot missed the cache: the run queue was a tenth of that row).
  struct Node {
    Key key;
    std::uint32_t slot;
  };

  [[nodiscard]] static bool before(const Key& x, const Key& y) {
    return x.due != y.due ? x.due < y.due : x.number < y.number;
  }
  // Nodes 1 .. capacity_-1 hold the winner of their subtree; node capacity_ + s is slot s.
  void play(std::size_t node) {
    const Node& a = nodes_[2 * node];
    const Node& b = nodes_[2 * node + 1];
    nodes_[node] = before(b.key, a.key) ? b : a;
  }
  // A node whose winner comes out as it was leaves every node above it as it was, and the walk
  // up stops there: a wait listed behind its neighbour's stops at the first node. With 1,024
  // actors the tree has ten levels, and -1.1% instructions in that row; with four, no change.
  void update(std::size_t slot, Key key) {
    nodes_[capacity_ + slot].key = key;
    for (std::size_t node = (capacity_ + slot) / 2; node >= 1; node /= 2) {
      const Node& a = nodes_[2 * node];
      const Node& b = nodes_[2 * node + 1];
      const Node& winner = before(b.key, a.key) ? b : a;
      Node& held = nodes_[node];
      if (held.slot == winner.slot && held.key.number == winner.key.number &&
          held.key.due == winner.key.due)
        return;
      held = winner;
    }
  }
  void grow() {
    const std::size_t old = capacity_;
    capacity_ = capacity_ ? 2 * capacity_ : 8;
    std::vector<Node> nodes(2 * capacity_, Node{unlisted, 0});
    for (std::size_t s = 0; s < capacity_; ++s)
      nodes[capacity_ + s] = {s < old ? nodes_[old + s].key : unlisted,
                              static_cast<std::uint32_t>(s)};
    nodes_ = std::move(nodes);
    for (std::size_t node = capacity_ - 1; node >= 1; --node)
      play(node);
  }

  std::vector<Node> nodes_;   // the tree, 2 x capacity_
  std::size_t capacity_ = 0;  // a power of two
  std::size_t count_ = 0;
  std::uint64_t registered_ = 0;
};

}  // namespace slabsim::sim
