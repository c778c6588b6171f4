// A broken invariant or a kernel crash a model caught instead of performing it.
#pragma once

#include <cstdint>
#include <string>

namespace slabsim::alloc {

// What kind of bug a violation shows.
enum class ViolationKind {
  missing_node,    // a cache without the kmem_cache_node of a node it uses (03afc0e25f7f)
  use_after_free,  // a freed kmem_cache_node used (666716fd267d)
  other,
};

struct Violation {
  std::int64_t time_ns = 0;
  int cpu = 0;
  std::string function;  // the kernel function where it was found
  std::string what;      // one sentence
  ViolationKind kind = ViolationKind::other;
};

// "missing-node", "use-after-free", "violation".
const char* violation_kind_name(ViolationKind kind);

}  // namespace slabsim::alloc
