// A typed signal in the manner of SimGrid's (xbt::signal, behind s4u::Actor::on_creation_cb()
// and the other hooks its plugins attach to): observers connect a callback, and each emission
// calls them in the order they connected. The code that emits knows nothing of its observers;
// with none connected, an emission costs one test.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace slabsim::sim {

template <class... Args>
class Signal {
 public:
  using Callback = std::function<void(Args...)>;
  using Connection = std::size_t;

  // Returns what disconnect() takes.
  Connection connect(Callback callback) {
    slots_.push_back({next_, std::move(callback)});
    return next_++;
  }
  // The callback is not called again. Not from inside an emission of this signal.
  void disconnect(Connection connection) {
    std::erase_if(slots_, [connection](const Slot& s) { return s.connection == connection; });
  }
  [[nodiscard]] bool observed() const { return !slots_.empty(); }

  void operator()(Args... args) const {
    for (const Slot& slot : slots_)
      slot.callback(args...);
  }

 private:
  struct Slot {
    Connection connection;
    Callback callback;
  };
  std::vector<Slot> slots_;
  Connection next_ = 0;
};

}  // namespace slabsim::sim
