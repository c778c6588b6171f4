#include "run/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <tuple>

#include "config/json_document.hpp"

namespace slabsim::sim {

namespace {

constexpr int trace_pid = 1;

std::string lock_name(alloc::LockClass cls, alloc::LockMode mode) {
  std::string name(alloc::lock_class_name(cls));
  if (mode == alloc::LockMode::read) name += " (read)";
  if (mode == alloc::LockMode::write) name += " (write)";
  return name;
}

nlohmann::json lock_args(const char* function, std::uint64_t instance) {
  return {{"function", function}, {"instance", instance}};
}

// Microseconds, the format's unit, written from the integer ns as an exact decimal: no
// rounding through a double, and the same text on every host.
std::string micros(std::int64_t ns) {
  std::string out = fmt::format("{}", ns / 1000);
  std::string frac = fmt::format("{:03}", ns % 1000);
  while (!frac.empty() && frac.back() == '0')
    frac.pop_back();
  if (!frac.empty()) out += "." + frac;
  return out;
}

}  // namespace

void TraceRecorder::name_process(std::string name) {
  metadata_.push_back({{"name", "process_name"},
                       {"ph", "M"},
                       {"pid", trace_pid},
                       {"args", {{"name", std::move(name)}}}});
}

void TraceRecorder::name_thread(int tid, std::string name) {
  metadata_.push_back({{"name", "thread_name"},
                       {"ph", "M"},
                       {"pid", trace_pid},
                       {"tid", tid},
                       {"args", {{"name", std::move(name)}}}});
  // Otherwise Perfetto orders tracks by their activity, which differs between runs.
  metadata_.push_back({{"name", "thread_sort_index"},
                       {"ph", "M"},
                       {"pid", trace_pid},
                       {"tid", tid},
                       {"args", {{"sort_index", tid}}}});
}

TraceRecorder::SliceId TraceRecorder::begin(int tid, std::int64_t start_ns, std::string name,
                                            std::string_view category, nlohmann::json args) {
  events_.push_back({'X', tid, start_ns, -1, std::move(name), category, std::move(args)});
  return events_.size() - 1;
}

void TraceRecorder::end(SliceId id, std::int64_t end_ns, const nlohmann::json& args) {
  Event& e = events_[id];
  e.duration_ns = end_ns - e.start_ns;
  for (const auto& [key, value] : args.items())
    e.args[key] = value;
}

void TraceRecorder::instant(int tid, std::int64_t at_ns, std::string name,
                            std::string_view category, nlohmann::json args) {
  events_.push_back({'i', tid, at_ns, 0, std::move(name), category, std::move(args)});
}

TraceRecorder::PerCpu& TraceRecorder::cpu(int id) {
  if (static_cast<std::size_t>(id) >= cpus_.size()) cpus_.resize(static_cast<std::size_t>(id) + 1);
  return cpus_[static_cast<std::size_t>(id)];
}

void TraceRecorder::hotplug_step(int tid, std::string_view step, std::int64_t now_ns) {
  end_phase(tid, now_ns);
  cpu(tid).phase = begin(tid, now_ns, std::string(step), "hotplug");
}

void TraceRecorder::end_phase(int tid, std::int64_t now_ns) {
  PerCpu& c = cpu(tid);
  if (c.phase == no_slice) return;
  end(c.phase, now_ns);
  c.phase = no_slice;
}

void TraceRecorder::observe(OperationSignals& signals) {
  signals.begun.connect([this](const OperationBegun& e) {
    cpu(e.cpu).operations.push_back(begin(e.cpu, e.now_ns, e.name, e.category));
  });
  signals.hotplug_step.connect([this](const HotplugStepReached& e) {
    hotplug_step(e.cpu, hotplug_step_name(e.step), e.now_ns);
  });
  signals.ended.connect([this](const OperationEnded& e) {
    auto& operations = cpu(e.cpu).operations;
    if (operations.empty()) return;  // begun before the trace observed
    end(operations.back(), e.now_ns, {{"result", e.result}});
    operations.pop_back();
  });
  signals.error_injection.connect([this](const ErrorInjectionChanged& e) {
    instant(e.cpu, e.now_ns, e.what, "hotplug", {{"error", e.error}});
  });
}

void TraceRecorder::observe(LockSignals& signals) {
  signals.requested.connect([this](const LockEvent& e) { lock_requested(e); });
  signals.acquired.connect([this](const LockEvent& e) { lock_acquired(e); });
  signals.released.connect([this](const LockEvent& e) { lock_released(e); });
}

void TraceRecorder::lock_requested(const LockEvent& e) {
  cpu(e.cpu).requests.push_back({e.cls, e.instance, e.mode, e.function, e.now_ns});
}

void TraceRecorder::lock_acquired(const LockEvent& e) {
  PerCpu& c = cpu(e.cpu);
  bool contended = false;
  for (auto it = c.requests.rbegin(); it != c.requests.rend(); ++it) {
    if (it->cls != e.cls || it->instance != e.instance || it->mode != e.mode) continue;
    contended = e.now_ns > it->since_ns;
    if (contended) {
      events_.push_back({'X', e.cpu, it->since_ns, e.now_ns - it->since_ns,
                         "wait " + lock_name(e.cls, e.mode), "lock",
                         lock_args(e.function, e.instance)});
    }
    c.requests.erase(std::next(it).base());
    break;
  }
  // Every slab allocation's slow path takes a list_lock (every SLOB allocation slob_lock): their
  // holds would make most of the file while saying little; a contended one is worth seeing.
  const bool per_operation =
      e.cls == alloc::LockClass::list_lock || e.cls == alloc::LockClass::slab_list_lock ||
      e.cls == alloc::LockClass::slab_boot_list_lock || e.cls == alloc::LockClass::alien_lock ||
      e.cls == alloc::LockClass::slob_lock;
  if (per_operation && !contended) return;
  c.holds.push_back({e.cls, e.instance, e.mode,
                     begin(e.cpu, e.now_ns, lock_name(e.cls, e.mode), "lock",
                           lock_args(e.function, e.instance))});
}

void TraceRecorder::lock_released(const LockEvent& e) {
  PerCpu& c = cpu(e.cpu);
  for (auto it = c.holds.rbegin(); it != c.holds.rend(); ++it) {
    if (it->cls != e.cls || it->instance != e.instance || it->mode != e.mode) continue;
    end(it->slice, e.now_ns);
    c.holds.erase(std::next(it).base());
    break;
  }
  if ((e.cls == alloc::LockClass::mem_hotplug_lock && e.mode == alloc::LockMode::write) ||
      e.cls == alloc::LockClass::mem_hotplug_mutex)
    end_phase(e.cpu, e.now_ns);
}

void TraceRecorder::finish(std::int64_t end_ns, bool deadlock) {
  const nlohmann::json mark =
      deadlock ? nlohmann::json{{"deadlock", true}} : nlohmann::json::object();
  for (std::size_t id = 0; id < cpus_.size(); ++id) {
    for (const Request& r : cpus_[id].requests) {
      SliceId wait = begin(static_cast<int>(id), r.since_ns, "wait " + lock_name(r.cls, r.mode),
                           "lock", lock_args(r.function, r.instance));
      end(wait, end_ns, mark);
    }
    cpus_[id] = PerCpu{};
  }
  for (SliceId id = 0; id < events_.size(); ++id)
    if (events_[id].duration_ns < 0) end(id, end_ns, mark);
}

std::string TraceRecorder::json_text() const {
  std::vector<std::size_t> order(events_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
    const Event& x = events_[a];
    const Event& y = events_[b];
    return std::tie(x.start_ns, x.tid, y.duration_ns) < std::tie(y.start_ns, y.tid, x.duration_ns);
  });
  std::string out =
      "{\"displayTimeUnit\":\"ns\",\"otherData\":" + other_data_.dump() + ",\"traceEvents\":[";
  const char* sep = "\n";
  for (const auto& m : metadata_) {
    out += sep + m.dump();
    sep = ",\n";
  }
  for (std::size_t i : order) {
    const Event& e = events_[i];
    out += sep;
    out += fmt::format(R"({{"name":{},"cat":{},"ph":"{}","ts":{},)", nlohmann::json(e.name).dump(),
                       nlohmann::json(std::string(e.category)).dump(), e.phase, micros(e.start_ns));
    out += e.phase == 'X'
               ? fmt::format(R"("dur":{},)", micros(std::max<std::int64_t>(0, e.duration_ns)))
               : std::string(R"("s":"t",)");
    out += fmt::format(R"("pid":{},"tid":{})", trace_pid, e.tid);
    if (!e.args.empty()) out += ",\"args\":" + e.args.dump();
    out += "}";
    sep = ",\n";
  }
  out += "\n]}\n";
  return out;
}

void TraceRecorder::write(const std::string& path) const {
  try {
    config::write_file_atomically(path, json_text());
  } catch (const std::runtime_error& e) {
    throw TraceWriteError(e.what());
  }
}

}  // namespace slabsim::sim
