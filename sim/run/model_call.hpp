// A call from the runner into the allocator, as one guard object for its length: it counts as
// inside the model, so quiescent invariant checks wait for it, and a call on a workload cache
// (an allocation, a free, an in-kernel shrink) counts as an operation under way in that cache,
// which kmem_cache_destroy() waits for. The destructor makes no engine call, so an actor that
// SimGrid kills inside the model (a deadlock) unwinds through it.
#pragma once

#include <cstddef>

#include "run/quiescent_checks.hpp"
#include "run/workload_caches.hpp"

namespace slabsim::sim {

class ModelCall {
 public:
  explicit ModelCall(QuiescentChecks& checks) : checks_(checks) { checks_.enter(); }
  ModelCall(QuiescentChecks& checks, WorkloadCaches& caches, std::size_t cache)
      : checks_(checks), caches_(&caches), cache_(cache) {
    checks_.enter();
    caches_->enter(cache_);
  }
  ~ModelCall() {
    if (caches_) caches_->leave(cache_);
    checks_.leave();
  }
  ModelCall(const ModelCall&) = delete;
  ModelCall& operator=(const ModelCall&) = delete;

 private:
  QuiescentChecks& checks_;
  WorkloadCaches* caches_ = nullptr;
  std::size_t cache_ = 0;
};

}  // namespace slabsim::sim
