#include "kernel/lock_stat.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <utility>

namespace slabsim::sim {

namespace {

// Width of a /proc/lock_stat line: the 40-character name column, then 12 columns of 14 plus
// their separating spaces.
constexpr int lock_stat_width = 40 + 1 + 12 * (14 + 1);

// "[<address>]" column of a contention point; the simulation has no code addresses.
constexpr std::string_view no_address = "[<0000000000000000>]";

void append_line(std::string& out, char c, int offset, int length) {
  out.append(static_cast<std::size_t>(std::max(offset, 0)), ' ');
  out.append(static_cast<std::size_t>(std::max(length, 0)), c);
  out += '\n';
}

// count_point()'s rare case: the text has another address than the one remembered, or is new.
[[gnu::noinline]] void count_point_by_text(std::vector<LockPoint>& points,
                                           std::array<const char*, lockstat_points>& keys,
                                           const char* function) {
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].function == function) {
      keys[i] = function;
      ++points[i].count;
      return;
    }
  }
  if (points.size() < lockstat_points) {
    keys[points.size()] = function;
    points.push_back({std::string(function), 1});
  }
}

// Inline, by the literal's address: four calls per contention, whose entries and exits were a
// third of the work as calls.
[[gnu::always_inline]] inline void count_point(std::vector<LockPoint>& points,
                                               std::array<const char*, lockstat_points>& keys,
                                               const char* function) {
  if (function == nullptr || *function == '\0') return;  // the kernel's ip 0: nothing to remember
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (keys[i] == function) {
      ++points[i].count;
      return;
    }
  }
  // The same text may have several addresses.
  count_point_by_text(points, keys, function);
}

// The name column: the class name cut so that it and its suffixes fit, then "#<version>" and
// "/<subclass>", each cut to two characters as the kernel's 3-byte snprintf does.
std::string display_name(const LockClassStats& c) {
  std::size_t room = 37;  // char name[39], snprintf size 38, minus the suffixes
  if (c.name_version > 1) room -= 2;
  if (c.subclass != 0) room -= 2;
  std::string name = c.name.substr(0, std::min(room, c.name.size()));
  if (c.name_version > 1) name += fmt::format("#{}", c.name_version).substr(0, 2);
  if (c.subclass != 0) name += fmt::format("/{}", c.subclass).substr(0, 2);
  return name;
}

void append_lock_time(std::string& out, const LockTime& t) {
  out += fmt::format("{:>14}", t.nr);
  for (std::int64_t v : {t.min, t.max, t.total, t.avg()})
    out += fmt::format(" {:>14}", format_lock_stat_time(v));
}

void append_class(std::string& out, const LockClassStats& c) {
  const std::string name = display_name(c);
  const bool reads = c.read_holdtime.nr != 0;
  if (c.write_holdtime.nr != 0) {
    out += reads ? fmt::format("{:>38}-W:", name) : fmt::format("{:>40}:", name);
    out += fmt::format("{:>14} ", c.con_bounces_write);
    append_lock_time(out, c.write_waittime);
    out += fmt::format(" {:>14} ", c.acq_bounces_write);
    append_lock_time(out, c.write_holdtime);
    out += '\n';
  }
  if (reads) {
    out += fmt::format("{:>38}-R:", name);
    out += fmt::format("{:>14} ", c.con_bounces_read);
    append_lock_time(out, c.read_waittime);
    out += fmt::format(" {:>14} ", c.acq_bounces_read);
    append_lock_time(out, c.read_holdtime);
    out += '\n';
  }
  if (c.contentions() == 0) return;

  const int namelen = static_cast<int>(name.size()) + (reads ? 2 : 0);
  auto append_points = [&](const std::vector<LockPoint>& points) {
    std::size_t shown = 0;
    for (const auto& p : points) {
      if (shown == lockstat_points) break;
      if (shown == 0) append_line(out, '-', 40 - namelen, namelen);
      out += fmt::format("{:>40} {:>14} {:>29} {}\n", name, p.count, no_address, p.function);
      ++shown;
    }
    return shown;
  };
  append_points(c.contention_points);
  // The closing dotted line follows the contending points, and only them (lockdep_proc.c).
  if (append_points(c.contending_points) != 0) {
    out += '\n';
    append_line(out, '.', 0, lock_stat_width);
    out += '\n';
  }
}

}  // namespace

std::int64_t LockTime::avg() const {
  return nr == 0 ? 0 : total / static_cast<std::int64_t>(nr);
}

std::uint64_t LockClassStats::contentions() const {
  return read_waittime.nr + write_waittime.nr;
}

std::string LockClassStats::full_name() const {
  return name_version > 1 ? fmt::format("{}#{}", name, name_version) : name;
}

LockStat::LockStat(std::string name, int name_version) {
  stats_.name = std::move(name);
  stats_.name_version = name_version;
  kernel_ = stats_;
}

void LockStat::contended(View view, bool read, bool bounce, const char* function,
                         const char* holder_function) {
  LockClassStats* s = of(view);
  if (!s) return;
  PointKeys& keys = keys_[static_cast<std::size_t>(view)];
  count_point(s->contention_points, keys.contention, function);
  count_point(s->contending_points, keys.contending, holder_function);
  if (bounce) ++(read ? s->con_bounces_read : s->con_bounces_write);
}

void LockStat::clear() {
  for (LockClassStats* s : {&stats_, &kernel_}) {
    LockClassStats fresh;
    fresh.name = std::move(s->name);
    fresh.name_version = s->name_version;
    fresh.subclass = s->subclass;
    *s = std::move(fresh);
  }
  keys_ = {};
}

std::string format_lock_stat_time(std::int64_t ns) {
  const std::int64_t rounded = ns + 5;  // display rounding, as snprint_time()
  std::string text = fmt::format("{}.{:02}", rounded / 1000, (rounded % 1000) / 10);
  if (text.size() > 14) text.resize(14);  // the kernel formats into char num[15]
  return text;
}

std::string format_lock_stat(std::vector<LockClassStats> classes, bool lock_debugging_disabled) {
  std::sort(classes.begin(), classes.end(), [](const auto& a, const auto& b) {
    const auto ca = a.contentions(), cb = b.contentions();
    if (ca != cb) return ca > cb;
    return std::tie(a.name, a.name_version, a.subclass) <
           std::tie(b.name, b.name_version, b.subclass);
  });

  std::string out = "lock_stat version 0.4\n";
  if (lock_debugging_disabled)
    out += "*WARNING* lock debugging disabled!! - possibly due to a lockdep warning\n";
  append_line(out, '-', 0, lock_stat_width);
  out += fmt::format("{:>40}", "class name");
  for (const char* title : {"con-bounces", "contentions", "waittime-min", "waittime-max",
                            "waittime-total", "waittime-avg", "acq-bounces", "acquisitions",
                            "holdtime-min", "holdtime-max", "holdtime-total", "holdtime-avg"})
    out += fmt::format(" {:>14}", title);
  out += '\n';
  append_line(out, '-', 0, lock_stat_width);
  out += '\n';
  for (const auto& c : classes)
    append_class(out, c);
  return out;
}

}  // namespace slabsim::sim
