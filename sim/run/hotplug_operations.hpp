// Memory and CPU hotplug as the event tasks play them, each operation recorded (HotplugRecord)
// and signalled (OperationSignals): a memory block hot-added (add_memory(), as an ACPI DIMM
// insertion does it), or onlined or offlined through sysfs
// (lock_device_hotplug_sysfs(), then v5.10's online_pages() or offline_pages() with the
// allocator's callbacks on the notifier chain), a CPU brought up or down under
// cpus_write_lock() with the allocator's CPUHP callbacks.
#pragma once

#include <vector>

#include "run/cpu_driver.hpp"
#include "run/machine.hpp"
#include "run/metrics_recorder.hpp"
#include "run/operation_signals.hpp"
#include "workload/workload.hpp"

namespace slabsim::sim {

class HotplugOperations {
 public:
  HotplugOperations(Machine& machine, const workload::Workload& workload, CpuDriver& cpus,
                    MetricsRecorder& recorder, OperationSignals& signals);

  // The blocks of the event's node the event applies to, one operation each, from `cpu`; the
  // operations' records, in order. `type`: memory_add, memory_online, memory_offline or
  // memory_remove (one operation on all the event's blocks, a record for each).
  std::vector<HotplugRecord> memory(int cpu, const workload::Event& e, HotplugType type);
  // cpu_up()/cpu_down() of the event's CPU, from `cpu`.
  void cpu(int cpu, const workload::Event& e, bool online);

 private:
  [[nodiscard]] std::vector<int> blocks_for(const workload::Event& e, HotplugType type) const;
  // add_memory(), online_pages() or offline_pages() of one block under device_hotplug_lock; the
  // lock wait is until mem_hotplug_lock was held.
  void memory_block(HotplugRecord& r, const workload::Event& e);
  // memory_remove: try_remove_memory() of the event's blocks as one range.
  std::vector<HotplugRecord> remove(int cpu, const workload::Event& e);
  void after_memory_block(HotplugRecord& r, const alloc::NodeStructCounts& before);
  // lock_device_hotplug_sysfs(): the sysfs writes' trylock, retried after msleep(5).
  void lock_device_hotplug_sysfs();
  // cpu_down()'s part once the lock is held: the CPU stops, then CPUHP_*_DEAD.
  int cpu_down(int cpu);

  Machine& machine_;
  MachineEnvironment& env_;
  alloc::Allocator& allocator_;
  const workload::Workload& workload_;
  CpuDriver& cpus_;
  MetricsRecorder& recorder_;
  OperationSignals& signals_;
};

}  // namespace slabsim::sim
