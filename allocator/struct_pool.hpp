// The model's recycled structs (the struct page of each slab): addresses that stay valid for the
// whole run, so that a stale pointer is caught as a use of a released struct instead of crashing
// the model, and reuse in last-released-first order, like the kernel's page allocator hands back a
// just-freed page.
#pragma once

#include <memory>
#include <vector>

namespace slabsim::alloc {

template <class T>
class StructPool {
 public:
  // A released struct (as its user left it) or a new, value-initialised one.
  T* acquire() {
    if (!free_.empty()) {
      T* t = free_.back();
      free_.pop_back();
      return t;
    }
    all_.push_back(std::make_unique<T>());
    return all_.back().get();
  }
  void release(T* t) { free_.push_back(t); }
  // Every struct ever made, released ones included, in creation order.
  [[nodiscard]] const std::vector<std::unique_ptr<T>>& all() const { return all_; }

 private:
  std::vector<std::unique_ptr<T>> all_;
  std::vector<T*> free_;
};

}  // namespace slabsim::alloc
