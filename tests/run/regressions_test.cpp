// The regression scenarios of workloads/regressions/ under every strategy preset and every
// allocator: each run's findings must be exactly the cell of the README's tables (one per
// allocator), which are the one statement of what is expected (the test reads them, so the
// tables and the models cannot drift apart).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "allocator/strategy.hpp"
#include "config/json_document.hpp"
#include "run/findings.hpp"
#include "run/runner.hpp"
#include "strategy/strategy_format.hpp"
#include "topology/topology_loader.hpp"
#include "workload/workload_loader.hpp"

namespace slabsim::sim {
namespace {

const std::filesystem::path dir =
    std::filesystem::path(SLABSIM_SOURCE_DIR) / "workloads/regressions";

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = line.find('|');
  while (start != std::string::npos) {
    const std::size_t end = line.find('|', start + 1);
    if (end == std::string::npos) break;
    std::string cell = line.substr(start + 1, end - start - 1);
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    out.push_back(cell);
    start = end;
  }
  return out;
}

struct Table {
  std::vector<std::string> strategies;  // the columns
  std::map<std::string, std::map<std::string, std::set<std::string>>>
      expected;  // file -> strategy -> findings
};

// The README's tables by allocator: "| scenario |" heads SLUB's, "| scenario under slab |"
// SLAB's, and so on.
std::map<std::string, Table> read_tables() {
  std::ifstream in(dir / "README.md");
  std::map<std::string, Table> tables;
  Table* t = nullptr;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("| scenario ")) {
      const auto head = cells(line);
      const std::string allocator =
          head[0] == "scenario" ? "slub" : head[0].substr(std::string("scenario under ").size());
      t = &tables[allocator];
      t->strategies.assign(head.begin() + 1, head.end());
    } else if (line.starts_with("| [") && t) {
      const auto row = cells(line);
      const auto open = row[0].find("](");
      const std::string file = row[0].substr(open + 2, row[0].size() - open - 3);
      for (std::size_t c = 1; c < row.size() && c <= t->strategies.size(); ++c) {
        std::set<std::string> findings;
        if (row[c] != "none") {
          std::size_t from = 0;
          while (from <= row[c].size()) {
            const std::size_t comma = row[c].find(", ", from);
            findings.insert(row[c].substr(from, comma - from));
            if (comma == std::string::npos) break;
            from = comma + 2;
          }
        }
        t->expected[file][t->strategies[c - 1]] = findings;
      }
    }
  }
  return tables;
}

TEST(Regressions, TablesCoverEveryScenarioPresetAndAllocator) {
  const auto tables = read_tables();
  std::vector<std::string> presets;
  for (const auto& p : alloc::strategy_presets())
    presets.push_back(p.name);
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json") files.insert(entry.path().filename().string());
  EXPECT_EQ(files.size(), 6u);
  std::set<std::string> allocators;
  for (const auto& [kind, description] : alloc::allocator_kinds())
    allocators.emplace(alloc::allocator_name(kind));
  std::set<std::string> with_table;
  for (const auto& [allocator, t] : tables) {
    with_table.insert(allocator);
    EXPECT_EQ(t.strategies, presets) << allocator << ": one column per preset, in history order";
    std::set<std::string> rows;
    for (const auto& [file, _] : t.expected)
      rows.insert(file);
    EXPECT_EQ(rows, files) << allocator << ": one row per scenario file";
  }
  EXPECT_EQ(with_table, allocators) << "one table per allocator";
}

class Scenario : public ::testing::TestWithParam<std::string> {};

TEST_P(Scenario, FindingsMatchTheTables) {
  const auto doc = config::load_json_document((dir / GetParam()).string());
  const auto machine = topology::load_topology(*workload::workload_topology(doc));
  const auto w = workload::load_workload(doc, machine);
  for (const auto& [allocator, t] : read_tables()) {
    for (const auto& [strategy, expected] : t.expected.at(GetParam())) {
      RunOptions o;
      o.seed = w.seed;
      o.allocator = *alloc::find_allocator(allocator);
      const RunMetrics m = run_simulation(machine, w, strategy::load_strategy(strategy), o);
      const auto found = run_findings(m);
      EXPECT_EQ(std::set<std::string>(found.begin(), found.end()), expected)
          << GetParam() << " with " << allocator << " under " << strategy << ": found "
          << fmt::format("{}", fmt::join(found, ", "));
    }
  }
}

std::vector<std::string> scenario_files() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json") out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Regressions, Scenario, ::testing::ValuesIn(scenario_files()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace slabsim::sim
