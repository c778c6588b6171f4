#include "kernel/task_states.hpp"

#include <algorithm>
#include <stdexcept>

namespace slabsim::sim {

bool TaskStates::on_cpu(long pid) const {
  auto it = tasks_.find(pid);
  return it == tasks_.end() || it->second.sleeping == 0;
}

void TaskStates::sleep(long pid) {
  Task& t = tasks_[pid];
  if (t.sleeping++ > 0) return;
  // A copy: a listener's spinners go to sleep in turn, and may release nothing but may
  // register elsewhere.
  const std::vector<OwnerListener*> owned = t.owned;
  for (OwnerListener* lock : owned)
    lock->owner_sleeps();
}

void TaskStates::wake(long pid) {
  auto it = tasks_.find(pid);
  if (it == tasks_.end() || it->second.sleeping == 0)
    throw std::logic_error("TaskStates::wake: the task is not asleep");
  --it->second.sleeping;
}

void TaskStates::owns(long pid, OwnerListener* lock) {
  tasks_[pid].owned.push_back(lock);
}

void TaskStates::disowns(long pid, OwnerListener* lock) {
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) return;
  auto& owned = it->second.owned;
  owned.erase(std::remove(owned.begin(), owned.end(), lock), owned.end());
}

TaskStates::Sleeping::Sleeping(TaskStates* tasks, long pid) : tasks_(tasks), pid_(pid) {
  if (tasks_ != nullptr) tasks_->sleep(pid_);
}

TaskStates::Sleeping::~Sleeping() {
  if (tasks_ != nullptr && !tasks_->on_cpu(pid_)) tasks_->wake(pid_);
}

}  // namespace slabsim::sim
