#include "run/deadlock_report.hpp"

#include <fmt/format.h>

namespace slabsim::sim {

namespace {

std::string describe(const LockUse& u) {
  const char* mode = u.mode == alloc::LockMode::read    ? " (read)"
                     : u.mode == alloc::LockMode::write ? " (write)"
                                                        : "";
  return fmt::format("{}#{}{}", alloc::lock_class_name(u.cls), u.instance, mode);
}

}  // namespace

DeadlockInfo describe_deadlock(const RunResult& end, const HeldLocks& locks) {
  DeadlockInfo d;
  for (const auto& b : end.blocked)
    d.actors.push_back(b.name + " on " + b.host);
  for (const auto& u : locks.held())
    d.held.push_back(fmt::format("CPU {} holds {}, taken in {}", u.cpu, describe(u), u.function));
  for (const auto& u : locks.awaited())
    d.awaited.push_back(fmt::format("CPU {} waits for {} in {}", u.cpu, describe(u), u.function));
  return d;
}

}  // namespace slabsim::sim
