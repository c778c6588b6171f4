// `compare`'s three formats (run/compare_report.hpp) on made-up results: the table as it always
// was, Markdown, and plain text that never passes 80 columns, whatever the number and the names
// of the columns, with the strategies' kernels and commits and the command that reproduces it.
#include "run/compare_report.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "allocator/strategy.hpp"
#include "lock_class_json.hpp"

namespace slabsim::sim {
namespace compare_report_test {

using nlohmann::json;

json lock_class(const std::string& name, std::int64_t wait, std::int64_t hold, int contentions) {
  return test_support::lock_class_json(name, wait, hold, contentions);
}

// A result reduced to what the headline metrics read; `scale` makes its numbers wide.
json result(std::int64_t scale = 1, bool slub = true) {
  return {{"simulated_ns", 4000},
          {"metrics",
           {{"allocations", 10 * scale},
            {"remote_alloc", {{"ratio", 0.1}}},
            {"remote_access", {{"ratio", 0.05}}},
            {"fallbacks_to_numa_no_node", {2, 0, 3}},
            {"alloc_node_mismatch", slub ? json(4) : json(nullptr)},
            {"lock_waits",
             {lock_class("slab_mutex", 1500 * scale, 2500 * scale, 2),
              lock_class("(memory_chain).rwsem", 0, 700, 0)}},
            {"hotplug", {{{"duration_ns", 9000 * scale}, {"lock_wait_ns", 100}, {"result", 0}}}},
            {"lockdep", {{"reports", {"a splat"}}, {"cycles", {"A -> B"}}}},
            {"violations", json::array()},
            {"deadlock", nullptr}}}};
}

// Runs of the same workload under `strategies`, their results kept alive with them.
struct Runs {
  std::deque<PreparedRun> prepared;
  std::deque<json> results;
  std::vector<ComparedRun> runs;

  void add(const std::string& label, const alloc::Strategy& strategy, json r) {
    PreparedRun& p = prepared.emplace_back();
    p.workload.name = "node-online";
    p.workload.duration_ns = 30'000'000;
    p.machine.name = "qemu-2node-hotplug";
    p.strategy = strategy;
    results.push_back(std::move(r));
    runs.push_back({label, &p, &results.back()});
  }
};

Runs presets(std::size_t count, std::int64_t scale = 1) {
  Runs r;
  for (std::size_t i = 0; i < count && i < alloc::strategy_presets().size(); ++i)
    r.add(alloc::strategy_presets()[i].name, alloc::strategy_presets()[i], result(scale));
  return r;
}

CommandWords command_of(const Runs& r) {
  std::string list;
  for (const auto& run : r.runs)
    list += (list.empty() ? "" : ",") + run.label;
  return {{{"slabsim", "compare"}}, {{"-w", "node-online"}}, {{"-t", "qemu-2node-hotplug"}},
          {{"-s", list}, true},     {{"--seed", "1"}},       {{"--format", "text"}}};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

void expect_fits(const std::string& text) {
  for (const auto& line : lines_of(text))
    EXPECT_LE(line.size(), 80u) << line;  // a mail's width, whatever the constant says
}

TEST(CompareReport, TheTableIsWhatCompareAlwaysPrinted) {
  Runs r;
  r.add("slub", alloc::strategy_presets()[2], result());
  r.add("slab", alloc::strategy_presets()[2], result(1, false));
  EXPECT_EQ(compare_report(r.runs, CompareFormat::table),
            "node-online on qemu-2node-hotplug (seed 1, 30 ms workload)\n"
            "metric                                slub    slab\n"
            "allocations                             10      10\n"
            "remote alloc ratio                  0.1000  0.1000\n"
            "remote access ratio                 0.0500  0.0500\n"
            "fallbacks to NUMA_NO_NODE                5       5\n"
            "alloc_node_mismatch                      4       -\n"
            "slab_mutex contentions                   2       2\n"
            "slab_mutex wait total us              1.50    1.50\n"
            "slab_mutex hold total us              2.50    2.50\n"
            "(memory_chain).rwsem contentions         0       0\n"
            "(memory_chain).rwsem wait total us    0.00    0.00\n"
            "(memory_chain).rwsem hold total us    0.70    0.70\n"
            "hotplug ops (failed)                 1 (0)   1 (0)\n"
            "hotplug max latency us                9.00    9.00\n"
            "hotplug max lock wait us              0.10    0.10\n"
            "lockdep reports                          1       1\n"
            "violations                               0       0\n"
            "deadlock                                no      no\n");
}

TEST(CompareReport, TextNeverPassesEightyColumnsWhateverItsColumns) {
  for (std::size_t count = 1; count <= alloc::strategy_presets().size(); ++count)
    for (std::int64_t scale : {1, 1'000'000'000}) {
      const Runs r = presets(count, scale);
      const std::string text = compare_report(r.runs, CompareFormat::text, command_of(r));
      SCOPED_TRACE(text);
      expect_fits(text);
    }
  // Every allocator under every preset: 21 columns named allocator:strategy.
  Runs all;
  for (const char* a : {"slub", "slab", "slob"})
    for (const auto& s : alloc::strategy_presets())
      all.add(std::string(a) + ":" + s.name, s, result(1'000'000));
  const std::string text = compare_report(all.runs, CompareFormat::text, command_of(all));
  SCOPED_TRACE(text);
  expect_fits(text);
}

TEST(CompareReport, TextSplitsTheColumnsIntoBlocksWithEveryRowInEach) {
  const Runs r = presets(alloc::strategy_presets().size());
  const auto lines = lines_of(compare_report(r.runs, CompareFormat::text));
  std::vector<std::string> headers;  // the line above each block's first row
  std::size_t blocks = 0, allocations = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with("metric ")) {
      ++blocks;
      std::istringstream in(lines[i].substr(std::string("metric").size()));
      for (std::string word; in >> word;)
        if (word != "unit") headers.push_back(word);
    }
    allocations += lines[i].starts_with("allocations ");
  }
  EXPECT_GT(blocks, 1u);
  EXPECT_EQ(allocations, blocks);
  std::vector<std::string> names;
  for (const auto& s : alloc::strategy_presets())
    names.push_back(s.name);
  EXPECT_EQ(headers, names);  // every column once, in order
}

TEST(CompareReport, TextGroupsALockClassesRowsUnderItsName) {
  const Runs r = presets(2);
  const std::string text = compare_report(r.runs, CompareFormat::text);
  // Labels padded to the widest ("fallbacks to NUMA_NO_NODE"), units to "yes/no".
  auto row = [](const char* label, const char* unit) {
    return fmt::format("\n{:<25}  {:<6}  ", label, unit);
  };
  EXPECT_NE(text.find("\nslab_mutex:" + row("  contentions", "count")), std::string::npos) << text;
  for (const auto& [label, unit] :
       std::vector<std::pair<const char*, const char*>>{{"  wait total", "us"},
                                                        {"hotplug max latency", "us"},
                                                        {"remote alloc ratio", "ratio"},
                                                        {"deadlock", "yes/no"},
                                                        {"hotplug ops (failed)", "count"}})
    EXPECT_NE(text.find(row(label, unit)), std::string::npos) << label << "\n" << text;
}

TEST(CompareReport, AColumnNameTooWideForALineIsWrappedNotCut) {
  alloc::Strategy s = alloc::strategy_presets()[0];
  s.name = std::string(60, 'a') + "_" + std::string(60, 'b');
  Runs r;
  r.add(s.name, s, result());
  const std::string text = compare_report(r.runs, CompareFormat::text);
  SCOPED_TRACE(text);
  expect_fits(text);
  // The header's lines, from the table's first line to its "metric" line, hold the name.
  std::string header;
  bool table = false;
  for (const auto& line : lines_of(text)) {
    if (!table) {
      table = line.empty();  // the line after the headline
      continue;
    }
    header += line.substr(line.find_last_of(' ') + 1);
    if (line.starts_with("metric ")) break;
  }
  EXPECT_EQ(header, s.name);
}

TEST(CompareReport, TheStrategiesAreListedWithTheKernelAndCommitTheyDeclare) {
  Runs r = presets(alloc::strategy_presets().size());
  alloc::Strategy mine = alloc::strategy_presets()[4];
  mine.name = "mine";
  mine.kernel = "user-defined";
  mine.commit = "-";
  mine.description = "slab_nodes with structs freed on MEM_OFFLINE";
  mine.offline_frees_nodes = true;
  r.add("mine", mine, result());
  for (const auto format : {CompareFormat::markdown, CompareFormat::text}) {
    // The text format wraps long lines: compare words.
    std::string text;
    std::istringstream in(compare_report(r.runs, format));
    for (std::string w; in >> w;)
      text += w + " ";
    for (const auto& s : alloc::strategy_presets()) {
      EXPECT_NE(text.find(s.kernel), std::string::npos) << s.kernel;
      // A long commit may be wrapped: each word is there.
      std::istringstream words(s.commit);
      for (std::string w; words >> w;)
        EXPECT_NE(text.find(w), std::string::npos) << w;
    }
    // A strategy of a file says what it is; the commit it does not have is not shown.
    EXPECT_NE(text.find("user-defined (slab_nodes with structs freed on MEM_OFFLINE)"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("user-defined; -"), std::string::npos) << text;
  }
}

TEST(CompareReport, TheCommandIsWrappedForAShellAndLongListsAreRepeated) {
  const Runs r = presets(alloc::strategy_presets().size());
  const std::string text = compare_report(r.runs, CompareFormat::text, command_of(r));
  const auto lines = lines_of(text);
  std::size_t at = 0;
  while (at < lines.size() && lines[at] != "Reproduce with:")
    ++at;
  ASSERT_LT(at, lines.size()) << text;
  std::vector<std::string> words, strategies;
  for (std::size_t i = at + 1; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 80u);
    EXPECT_EQ(lines[i].ends_with(" \\"), i + 1 < lines.size()) << lines[i];
    std::istringstream in(lines[i]);
    for (std::string w; in >> w;)
      if (w != "\\") words.push_back(w);
  }
  ASSERT_GT(words.size(), 2u);
  EXPECT_EQ(words[0], "slabsim");
  for (std::size_t i = 0; i + 1 < words.size(); ++i)
    if (words[i] == "-s") strategies.push_back(words[i + 1]);
  EXPECT_GT(strategies.size(), 1u);  // the list is longer than a line
  std::string joined;
  for (const auto& s : strategies)
    joined += (joined.empty() ? "" : ",") + s;
  EXPECT_EQ(joined, command_of(r)[3].words[1]);
}

TEST(CompareReport, OnlyAListIsSplitAndAQuotedWordStaysQuoted) {
  const Runs r = presets(1);
  const std::string path = "workloads/a,b/" + std::string(60, 'w') + ".json";
  const CommandWords command{{{"slabsim", "compare"}},
                             {{"-w", path}},
                             {{"-s", "mutex_only,my strategy.json," + std::string(60, 's')}, true}};
  const std::string text = compare_report(r.runs, CompareFormat::text, command);
  EXPECT_NE(text.find("\n      -w " + path + " \\\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n      -s mutex_only,'my strategy.json' \\\n      -s " +
                      std::string(60, 's') + "\n"),
            std::string::npos)
      << text;
}

TEST(CompareReport, MarkdownIsATableWithUnitsAndTheCommandInACodeBlock) {
  Runs r = presets(3);
  const std::string md = compare_report(r.runs, CompareFormat::markdown, command_of(r));
  SCOPED_TRACE(md);
  const auto lines = lines_of(md);
  EXPECT_TRUE(lines[0].starts_with("slabsim ")) << lines[0];
  EXPECT_NE(md.find("| metric "), std::string::npos);
  EXPECT_NE(md.find("| `mutex_only` |"), std::string::npos);
  EXPECT_NE(md.find("| :---"), std::string::npos);
  EXPECT_NE(md.find("---: |\n"), std::string::npos);
  EXPECT_NE(md.find("| `slab_mutex` wait total "), std::string::npos);
  EXPECT_NE(md.find(" | µs "), std::string::npos);
  EXPECT_NE(md.find("\n```sh\nslabsim compare -w node-online -t qemu-2node-hotplug -s "
                    "mutex_only,hotplug_lock_sysfs,hotplug_lock --seed 1 --format text\n```\n"),
            std::string::npos);
  // Every table line has as many cells; no line starts with '#', which git would drop from a
  // commit message.
  std::size_t cells = 0;
  for (const auto& line : lines) {
    EXPECT_FALSE(line.starts_with("#")) << line;
    if (!line.starts_with("|")) continue;
    const auto n = static_cast<std::size_t>(std::count(line.begin(), line.end(), '|'));
    if (cells == 0) cells = n;
    EXPECT_EQ(n, cells) << line;
  }
  EXPECT_EQ(cells, 3u + 3u);
}

TEST(CompareReport, ShellQuotingLeavesPlainWordsAlone) {
  EXPECT_EQ(shell_quote("node-online"), "node-online");
  EXPECT_EQ(shell_quote("../w/my_work.load.jsonc"), "../w/my_work.load.jsonc");
  EXPECT_EQ(shell_quote("a,b"), "a,b");
  EXPECT_EQ(shell_quote("my file.json"), "'my file.json'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

}  // namespace compare_report_test
}  // namespace slabsim::sim
