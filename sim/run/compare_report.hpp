// `slabsim compare`'s output: the headline metrics (run/headline_metrics.hpp) of several runs of
// one workload side by side, a column per run. Three formats: the plain table (the default, as
// wide as its columns), and for a mail or a commit message, Markdown and plain text of at most
// 80 columns, both with each value's unit, the kernel and commit each strategy models, and the
// command that reproduces the comparison.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "run/run_request.hpp"

namespace slabsim::sim {

enum class CompareFormat {
  table,     // "metric" and a column per run, padded: what `compare` always printed
  markdown,  // a Markdown table with a unit column, the strategies, the command in a code block
  text,      // the same as plain text, no line longer than compare_text_width
};

// Each format with its name, as --format spells it, in the order the help lists them.
const std::vector<std::pair<std::string_view, CompareFormat>>& compare_formats();

// The widest line of the text format: a mail's or a commit message's.
inline constexpr std::size_t compare_text_width = 80;

// One column of a comparison: a run under one strategy and allocator.
struct ComparedRun {
  std::string label;                       // strategy, allocator, or allocator:strategy
  const PreparedRun* run = nullptr;        // its inputs (workload, machine, strategy, settings)
  const nlohmann::json* result = nullptr;  // its result document (run/result.hpp)
};

// The command that reproduces a comparison, as groups of words that stay on one line when the
// text format wraps it: {"slabsim", "compare"}, {"-w", "node-online"}, {"--no-lookahead"}. A
// `list` group is an option and a comma-separated list that the option takes in parts as well
// ("-s a,b -s c" is "-s a,b,c"): the text format may split a long one so.
struct CommandGroup {
  std::vector<std::string> words;
  bool list = false;
};
using CommandWords = std::vector<CommandGroup>;

// The comparison of `runs` (at least one, all of the same workload, machine and seed) in
// `format`; `command` is shown by markdown and text.
std::string compare_report(const std::vector<ComparedRun>& runs, CompareFormat format,
                           const CommandWords& command = {});

// A word as a POSIX shell reads it back: unchanged when it is plain, else single-quoted.
std::string shell_quote(const std::string& word);

}  // namespace slabsim::sim
