#include "run/compare_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "allocator/allocator.hpp"
#include "allocator/strategy.hpp"
#include "run/headline_metrics.hpp"

namespace slabsim::sim {

namespace {

// The metrics of every run, a row per headline metric (and per lock class any run took, in
// lock_stat order), a cell per run as the table shows it.
struct Comparison {
  std::vector<std::string> labels;  // a column per run
  std::vector<MetricColumn> rows;
  std::vector<std::vector<std::string>> cells;  // [row][run]
  bool any_missing = false;                     // a "-" somewhere
};

Comparison compare(const std::vector<ComparedRun>& runs) {
  std::vector<std::string> classes;
  for (const auto& r : runs)
    for (const auto& c : lock_classes_of(*r.result))
      if (std::find(classes.begin(), classes.end(), c) == classes.end()) classes.push_back(c);
  Comparison out;
  for (const auto& r : runs)
    out.labels.push_back(r.label);
  out.rows = metric_columns(view_compare, classes);
  for (const auto& row : out.rows) {
    auto& cells = out.cells.emplace_back();
    for (const auto& r : runs) {
      cells.push_back(row.compare_cell(*r.result));
      out.any_missing |= cells.back() == "-";
    }
  }
  return out;
}

// Columns padded to their widest cell: names to the left, values to the right.
std::string aligned(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    out += fmt::format("{:<{}}", r[0], width[0]);
    for (std::size_t i = 1; i < r.size(); ++i)
      out += fmt::format("  {:>{}}", r[i], width[i]);
    out += "\n";
  }
  return out;
}

std::string duration_ms(const PreparedRun& p) {
  return fmt::format("{} ms", static_cast<double>(p.workload.duration_ns) / 1e6);
}

// The default format, as `compare` has always printed it.
std::string table(const std::vector<ComparedRun>& runs, const Comparison& c) {
  std::vector<std::vector<std::string>> rows{{"metric"}};
  rows[0].insert(rows[0].end(), c.labels.begin(), c.labels.end());
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    rows.push_back({c.rows[i].label()});
    rows.back().insert(rows.back().end(), c.cells[i].begin(), c.cells[i].end());
  }
  const PreparedRun& p = *runs.at(0).run;
  return fmt::format("{} on {} (seed {}, {} workload)\n", p.workload.name, p.machine.name, p.seed(),
                     duration_ms(p)) +
         aligned(rows);
}

// ---- What markdown and text share: the runs' inputs, described once.

// A phrase is kept on one line of the text format when it fits in one.
using Phrases = std::vector<std::string>;

std::string joined(const Phrases& phrases) {
  return fmt::format("{}", fmt::join(phrases, " "));
}

struct Described {
  std::string name;
  Phrases text;  // "v5.10;" "03afc0e25f7f" (and what a user's strategy says it is)
};

// The strategies of the runs, each once, in column order, with what they declare they model.
std::vector<Described> strategies_of(const std::vector<ComparedRun>& runs) {
  std::vector<Described> out;
  std::vector<const alloc::Strategy*> seen;
  for (const auto& r : runs) {
    const alloc::Strategy& s = r.run->strategy;
    if (std::any_of(seen.begin(), seen.end(), [&](const auto* t) { return *t == s; })) continue;
    seen.push_back(&s);
    Described d{s.name, {s.kernel}};
    if (!s.commit.empty() && s.commit != "-") {
      d.text[0] += ";";
      d.text.push_back(s.commit);
    }
    // A strategy of a file, which the reader cannot look up: what it says it is.
    const alloc::Strategy* preset = alloc::find_strategy_preset(s.name);
    if ((!preset || !(*preset == s)) && !s.description.empty())
      d.text.push_back("(" + s.description + ")");
    out.push_back(std::move(d));
  }
  return out;
}

// The allocators of the runs, each once, in column order, with their descriptions.
std::vector<Described> allocators_of(const std::vector<ComparedRun>& runs) {
  std::vector<Described> out;
  for (const auto& r : runs) {
    const std::string name(alloc::allocator_name(r.run->settings.allocator));
    if (std::any_of(out.begin(), out.end(), [&](const auto& a) { return a.name == name; }))
      continue;
    for (const auto& [kind, description] : alloc::allocator_kinds())
      if (kind == r.run->settings.allocator) out.push_back({name, {std::string(description)}});
  }
  return out;
}

// "slabsim 0.1.0:" "node-online on qemu-2node-hotplug with slub" "(seed 1, 30 ms workload)",
// each name passed through `name`.
template <class Name>
Phrases headline(const std::vector<ComparedRun>& runs, Name name) {
  const PreparedRun& p = *runs.at(0).run;
  std::vector<std::string> allocators;
  for (const auto& a : allocators_of(runs))
    allocators.push_back(name(a.name));
  return {fmt::format("slabsim {}:", SLABSIM_VERSION),
          fmt::format("{} on {} with {}", name(p.workload.name), name(p.machine.name),
                      fmt::join(allocators, ", ")),
          fmt::format("(seed {}, {} workload)", p.seed(), duration_ms(p))};
}

constexpr std::string_view missing_note =
    "the allocator has no such counter, or the run did not take that lock.";

// ---- markdown

std::size_t columns_of(std::string_view s) {  // UTF-8 code points
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

std::string padded(const std::string& s, std::size_t width, bool right) {
  const std::string fill(width - std::min(width, columns_of(s)), ' ');
  return right ? fill + s : s + fill;
}

std::string code(const std::string& s) {
  return "`" + s + "`";
}

// A table cell: '|' would end it.
std::string cell(const std::string& s) {
  std::string out;
  for (char ch : s)
    out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

std::string markdown_table(const Comparison& c) {
  std::vector<std::vector<std::string>> rows{{"metric", "unit"}};
  for (const auto& l : c.labels)
    rows[0].push_back(cell(code(l)));
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const MetricColumn& m = c.rows[i];
    std::string label(m.metric->compare_label);
    if (m.metric->per_lock_class) label = code(m.lock_class) + " " + label;
    const std::string_view unit = compare_unit(m.metric->format);
    rows.push_back({cell(label), unit == "us" ? "µs" : std::string(unit)});
    for (const auto& v : c.cells[i])
      rows.back().push_back(cell(v));
  }
  std::vector<std::size_t> width(rows[0].size(), 3);
  for (const auto& r : rows)
    for (std::size_t k = 0; k < r.size(); ++k)
      width[k] = std::max(width[k], columns_of(r[k]));
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t k = 0; k < r.size(); ++k)
      out += "| " + padded(r[k], width[k], k >= 2) + " ";
    out += "|\n";
  };
  line(rows[0]);
  for (std::size_t k = 0; k < width.size(); ++k)
    out += "| " +
           (k < 2 ? ":" + std::string(width[k] - 1, '-') : std::string(width[k] - 1, '-') + ":") +
           " ";
  out += "|\n";
  for (std::size_t r = 1; r < rows.size(); ++r)
    line(rows[r]);
  return out;
}

std::string command_line(const CommandWords& command) {
  std::vector<std::string> words;
  for (const auto& group : command)
    for (const auto& w : group.words)
      words.push_back(shell_quote(w));
  return fmt::format("{}", fmt::join(words, " "));
}

std::string markdown(const std::vector<ComparedRun>& runs, const Comparison& c,
                     const CommandWords& command) {
  std::string out = joined(headline(runs, code)) + "\n\n" + markdown_table(c);
  if (c.any_missing) out += "\n`-`: " + std::string(missing_note) + "\n";
  out += "\nStrategies (kernel; commit):\n\n";
  for (const auto& s : strategies_of(runs))
    out += fmt::format("- {}: {}\n", code(s.name), joined(s.text));
  if (const auto allocators = allocators_of(runs); allocators.size() > 1) {
    out += "\nAllocators:\n\n";
    for (const auto& a : allocators)
      out += fmt::format("- {}: {}\n", code(a.name), joined(a.text));
  }
  if (!command.empty()) out += "\nReproduce with:\n\n```sh\n" + command_line(command) + "\n```\n";
  return out;
}

// ---- text

// `phrases` over lines of at most `width` columns, the first starting with `first` and the
// others with `rest`: a phrase stays on one line when it fits in one, else it is broken at its
// spaces; a word longer than a line stays whole.
std::string wrap(const Phrases& phrases, std::size_t width, const std::string& first,
                 const std::string& rest) {
  std::vector<std::string> words;
  for (const auto& phrase : phrases) {
    if (rest.size() + phrase.size() <= width) {
      words.push_back(phrase);
      continue;
    }
    std::istringstream in(phrase);
    for (std::string w; in >> w;)
      words.push_back(w);
  }
  std::string out;
  std::string line = first;
  bool empty = true;  // no word on `line` yet
  for (const auto& word : words) {
    if (!empty && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = rest;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  return out + line + "\n";
}

// A name cut into lines of at most `width` (a column's header, a strategy's name), after a '_',
// '-', '.' or ':' where one is near the end of a line, else anywhere.
std::vector<std::string> header_lines(const std::string& label, std::size_t width) {
  std::vector<std::string> out;
  std::string_view rest = label;
  while (rest.size() > width) {
    std::size_t cut = width;
    for (std::size_t k = width; k > width / 2; --k)
      if (std::string_view("_-.:").find(rest[k - 1]) != std::string_view::npos) {
        cut = k;
        break;
      }
    out.emplace_back(rest.substr(0, cut));
    rest.remove_prefix(cut);
  }
  out.emplace_back(rest);
  return out;
}

struct TextRow {
  std::string label;  // a lock class's rows are indented under its name
  std::string unit;
  const std::vector<std::string>* cells = nullptr;  // none: the lock class's own line
  bool in_class = false;                            // a row of the lock class above
};

std::vector<TextRow> text_rows(const Comparison& c) {
  std::vector<TextRow> out;
  std::string lock_class;
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const MetricColumn& m = c.rows[i];
    const std::string unit(compare_unit(m.metric->format));
    if (!m.metric->per_lock_class) {
      lock_class.clear();
      out.push_back({std::string(m.metric->compare_label), unit, &c.cells[i]});
      continue;
    }
    if (m.lock_class != lock_class) out.push_back({m.lock_class + ":", "", nullptr});
    lock_class = m.lock_class;
    out.push_back({"  " + std::string(m.metric->compare_label), unit, &c.cells[i], true});
  }
  return out;
}

// The runs' columns in blocks that fit `room` columns each (a column takes 2 + its width): as
// few blocks as the columns allow, of as even a number of columns as still fits.
std::vector<std::pair<std::size_t, std::size_t>> column_blocks(
    const std::vector<std::size_t>& widths, std::size_t room) {
  std::vector<std::pair<std::size_t, std::size_t>> greedy;  // [begin, end)
  for (std::size_t k = 0, used = room; k < widths.size(); ++k) {
    if (used + 2 + widths[k] > room) {
      greedy.push_back({k, k});
      used = 0;
    }
    used += 2 + widths[k];
    greedy.back().second = k + 1;
  }
  const std::size_t n = widths.size(), count = greedy.size();
  std::vector<std::pair<std::size_t, std::size_t>> even;
  for (std::size_t b = 0, begin = 0; b < count; ++b) {
    const std::size_t end = begin + n / count + (b < n % count ? 1 : 0);
    std::size_t used = 0;
    for (std::size_t k = begin; k < end; ++k)
      used += 2 + widths[k];
    if (used > room) return greedy;
    even.push_back({begin, end});
    begin = end;
  }
  return even;
}

std::string rstrip(std::string s) {
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

// The text table's layout: the widths of the label and unit columns, and of each run's column
// with its header's lines.
struct TextLayout {
  std::size_t label_width = std::string_view("metric").size();
  std::size_t unit_width = std::string_view("unit").size();
  std::vector<std::size_t> widths;
  std::vector<std::vector<std::string>> headers;
};

// The rows of `rows` for the runs [begin, end), under their header. As in the whole table, a
// lock class none of these runs took has no rows. `dash`: a "-" was printed.
std::string text_block(const std::vector<TextRow>& rows, const TextLayout& t, std::size_t begin,
                       std::size_t end, bool& dash) {
  std::string out;
  std::size_t height = 1;
  for (std::size_t k = begin; k < end; ++k)
    height = std::max(height, t.headers[k].size());
  for (std::size_t h = 0; h < height; ++h) {
    const bool last = h + 1 == height;
    std::string line = fmt::format("{:<{}}  {:<{}}", last ? "metric" : "", t.label_width,
                                   last ? "unit" : "", t.unit_width);
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t skip = height - t.headers[k].size();  // headers end on the last line
      line += fmt::format("  {:>{}}", h < skip ? "" : t.headers[k][h - skip], t.widths[k]);
    }
    out += rstrip(line) + "\n";
  }
  bool taken = true;  // by one of these runs: the lock class of the rows in_class
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TextRow& r = rows[i];
    if (!r.cells) {
      taken = false;
      for (std::size_t j = i + 1; j < rows.size() && rows[j].in_class; ++j)
        for (std::size_t k = begin; k < end; ++k)
          taken |= (*rows[j].cells)[k] != "-";
      if (taken) out += r.label + "\n";
      continue;
    }
    if (r.in_class && !taken) continue;
    std::string line = fmt::format("{:<{}}  {:<{}}", r.label, t.label_width, r.unit, t.unit_width);
    for (std::size_t k = begin; k < end; ++k) {
      line += fmt::format("  {:>{}}", (*r.cells)[k], t.widths[k]);
      dash |= (*r.cells)[k] == "-";
    }
    out += rstrip(line) + "\n";
  }
  return out;
}

// The table in blocks of columns, each within the text width. `dash`: a "-" was printed.
std::string text_table(const Comparison& c, bool& dash) {
  const auto rows = text_rows(c);
  TextLayout t;
  for (const auto& r : rows)
    if (r.cells) {
      t.label_width = std::max(t.label_width, r.label.size());
      t.unit_width = std::max(t.unit_width, r.unit.size());
    }
  const std::size_t room = compare_text_width - t.label_width - 2 - t.unit_width;
  for (std::size_t k = 0; k < c.labels.size(); ++k) {
    // "allocator:strategy" on two lines, the allocator above the strategy.
    const std::string& label = c.labels[k];
    const std::size_t colon = label.find(':');
    std::vector<std::string> parts{label};
    if (colon != std::string::npos && colon + 1 < label.size())
      parts = {label.substr(0, colon + 1), label.substr(colon + 1)};
    std::size_t w = 0;
    for (const auto& r : rows)
      if (r.cells) w = std::max(w, (*r.cells)[k].size());
    for (const auto& part : parts)
      w = std::max(w, std::min(part.size(), room - 2));
    t.widths.push_back(w);
    auto& lines = t.headers.emplace_back();
    for (const auto& part : parts)
      for (auto& line : header_lines(part, w))
        lines.push_back(std::move(line));
  }
  std::string out;
  for (const auto& [begin, end] : column_blocks(t.widths, room))
    out += (out.empty() ? "" : "\n") + text_block(rows, t, begin, end, dash);
  return out;
}

// Names in a column, what they declare wrapped beside them (under them when the names are wide).
std::string text_list(const std::vector<Described>& items) {
  std::size_t name_width = 0;
  for (const auto& i : items)
    name_width = std::max(name_width, i.name.size());
  std::string out;
  for (const auto& i : items) {
    if (name_width + 4 > compare_text_width / 2) {
      for (const auto& part : header_lines(i.name, compare_text_width - 2))
        out += "  " + part + "\n";
      out += wrap(i.text, compare_text_width, "      ", "      ");
      continue;
    }
    const std::string indent(name_width + 4, ' ');
    out += wrap(i.text, compare_text_width, fmt::format("  {:<{}}  ", i.name, name_width), indent);
  }
  return out;
}

// The command over lines of at most the text width, each but the last ending in " \" so that a
// shell reads them as one; an option with a list too long for a line is repeated with parts of
// the list.
std::string text_command(const CommandWords& command) {
  const std::string first = "  ", rest = "      ";
  const std::size_t room = compare_text_width - rest.size() - 2;  // " \"
  std::vector<std::string> groups;
  for (const auto& g : command) {
    std::vector<std::string> words;
    for (const auto& w : g.words)
      words.push_back(shell_quote(w));
    std::string whole = fmt::format("{}", fmt::join(words, " "));
    if (whole.size() <= room || !g.list || g.words.size() != 2) {
      groups.push_back(std::move(whole));
      continue;
    }
    const std::string& option = words[0];
    std::string part;  // of the list, each item quoted
    for (std::size_t start = 0; start <= g.words[1].size();) {
      const std::size_t end = std::min(g.words[1].find(',', start), g.words[1].size());
      const std::string item = shell_quote(g.words[1].substr(start, end - start));
      start = end + 1;
      if (!part.empty() && option.size() + 1 + part.size() + 1 + item.size() > room) {
        groups.push_back(option + " " + part);
        part.clear();
      }
      part += (part.empty() ? "" : ",") + item;
    }
    groups.push_back(option + " " + part);
  }
  std::string out, line = first;
  bool fresh = true;  // no group on `line` yet
  for (const auto& g : groups) {
    if (!fresh && line.size() + 1 + g.size() + 2 > compare_text_width) {
      out += line + " \\\n";
      line = rest;
      fresh = true;
    }
    line += (fresh ? "" : " ") + g;
    fresh = false;
  }
  return out + line + "\n";
}

std::string text(const std::vector<ComparedRun>& runs, const Comparison& c,
                 const CommandWords& command) {
  std::string out =
      wrap(headline(runs, [](const std::string& s) { return s; }), compare_text_width, "", "");
  bool dash = false;
  out += "\n" + text_table(c, dash);
  if (dash) out += "\n" + wrap({std::string(missing_note)}, compare_text_width, "-: ", "   ");
  out += "\nStrategies (kernel; commit):\n" + text_list(strategies_of(runs));
  if (const auto allocators = allocators_of(runs); allocators.size() > 1)
    out += "\nAllocators:\n" + text_list(allocators);
  if (!command.empty()) out += "\nReproduce with:\n" + text_command(command);
  return out;
}

}  // namespace

const std::vector<std::pair<std::string_view, CompareFormat>>& compare_formats() {
  static const std::vector<std::pair<std::string_view, CompareFormat>> formats = {
      {"table", CompareFormat::table},
      {"markdown", CompareFormat::markdown},
      {"text", CompareFormat::text},
  };
  return formats;
}

std::string compare_report(const std::vector<ComparedRun>& runs, CompareFormat format,
                           const CommandWords& command) {
  const Comparison c = compare(runs);
  switch (format) {
    case CompareFormat::table:
      return table(runs, c);
    case CompareFormat::markdown:
      return markdown(runs, c, command);
    case CompareFormat::text:
      return text(runs, c, command);
  }
  return table(runs, c);
}

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) ||
           std::string_view("_-./,:=+@%").find(ch) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char ch : word)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace slabsim::sim
