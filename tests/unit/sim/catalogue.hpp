// The harness shared by the catalogues of malformed inputs (tests/topologies/bad,
// tests/workloads/bad). Each file there holds exactly one mistake and says, in the comment lines
// it starts with, which diagnostic slabsim must report:
//
//   // expect-pointer: /nodes/2/memory/blocks/0/zone    (the exact JSON pointer; "/" is the root)
//   // expect-message: did you mean "normal"            (a substring of the message)
//   // why: a misspelt zone name                        (what the mistake is; unique)
//
// A catalogue adds only what is its own: where its files are, how many it must hold, and how to
// load one. Adding a mistake is adding a file; nothing here needs to change.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <typeinfo>
#include <vector>

#include "config/diagnostics.hpp"

namespace slabsim::testing {

// The .json files in `dir`, sorted so that test order and names are stable. A missing folder
// gives none rather than throwing, so HoldsEnoughFiles reports it instead of the test binary
// failing while tests are registered.
inline std::vector<std::string> catalogue_files(const std::filesystem::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string trim(const std::string& s) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  auto first = std::find_if_not(s.begin(), s.end(), space);
  auto last = std::find_if_not(s.rbegin(), s.rend(), space).base();
  return first < last ? std::string(first, last) : std::string();
}

// What a catalogue file says about itself. The values mean something only without problems.
struct Expectation {
  std::string pointer;  // "" for the root ("/" in the file)
  std::string message;
  std::string why;
  std::map<std::string, std::string> extra;  // the catalogue's own keys; "" when missing
  std::optional<std::string> first_line;     // trimmed, for a catalogue that fixes what comes first
  std::vector<std::string> problems;         // a malformed header
};

// Reads the `// key: value` lines at the top of the file, up to the first line that is not a
// comment. `extra_keys` are required too; unknown keys are left alone so that a catalogue's
// meta tests can read any file of it without knowing its own keys.
inline Expectation read_expectation(const std::string& path,
                                    const std::vector<std::string>& extra_keys = {}) {
  Expectation e;
  std::ifstream in(path);
  if (!in) {
    e.problems.push_back("cannot read the file");
    return e;
  }
  std::map<std::string, std::optional<std::string>> values = {
      {"expect-pointer", std::nullopt}, {"expect-message", std::nullopt}, {"why", std::nullopt}};
  for (const auto& key : extra_keys)
    values[key];
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!e.first_line) e.first_line = line;
    if (!line.starts_with("//")) break;
    const std::string comment = trim(line.substr(2));
    const auto colon = comment.find(':');
    if (colon == std::string::npos) continue;
    const auto value = values.find(trim(comment.substr(0, colon)));
    if (value == values.end()) continue;
    if (value->second) e.problems.push_back("\"" + value->first + "\" is given twice");
    value->second = trim(comment.substr(colon + 1));
  }
  for (const auto& [key, value] : values)
    if (!value || value->empty())
      e.problems.push_back("no \"// " + key + ": ...\" line at the top");
  e.pointer = values["expect-pointer"].value_or("");
  e.message = values["expect-message"].value_or("");
  e.why = values["why"].value_or("");
  for (const auto& key : extra_keys)
    e.extra[key] = values[key].value_or("");
  if (e.pointer == "/")
    e.pointer = "";
  else if (!e.pointer.empty() && e.pointer.front() != '/')
    e.problems.push_back("expect-pointer \"" + e.pointer + "\" is not a JSON pointer");
  return e;
}

// What one catalogue adds to the harness.
struct Catalogue {
  std::filesystem::path dir;
  std::size_t minimum_size;  // guards against files going missing unnoticed
  std::string loader;        // named when it throws something other than a ConfigError
  std::function<void(const std::string& path, const Expectation&)> load;
  // A catalogue with keys of its own reads them, and checks them, here.
  std::function<Expectation(const std::string& path)> read = [](const std::string& path) {
    return read_expectation(path);
  };
};

inline std::string shown(const std::string& pointer) {
  return pointer.empty() ? "/" : pointer;
}

// Checks that loading `path` fails with the diagnostic its header promises, and that every
// diagnostic names `path`, so a user is pointed at the file they wrote.
inline void expect_rejected(const Catalogue& catalogue, const std::string& path) {
  const Expectation expected = catalogue.read(path);
  for (const auto& problem : expected.problems)
    ADD_FAILURE() << path << ": " << problem;
  if (!expected.problems.empty()) return;
  const std::string wanted =
      "\"" + shown(expected.pointer) + ": ..." + expected.message + "...\" (" + expected.why + ")";

  try {
    catalogue.load(path, expected);
    ADD_FAILURE() << path << " was accepted; expected " << wanted;
  } catch (const config::ConfigError& error) {
    const auto& diagnostics = error.diagnostics();
    ASSERT_FALSE(diagnostics.empty()) << path << ": a ConfigError without diagnostics";
    const bool found =
        std::any_of(diagnostics.begin(), diagnostics.end(), [&](const config::Diagnostic& d) {
          return d.pointer == expected.pointer &&
                 d.message.find(expected.message) != std::string::npos;
        });
    EXPECT_TRUE(found) << "expected " << wanted << "\ngot:\n" << error.what();
    for (const auto& d : diagnostics)
      EXPECT_EQ(d.file, path) << "the diagnostic \"" << d.str() << "\" names another file";
  } catch (const std::exception& other) {
    ADD_FAILURE() << path << ": expected a config::ConfigError, but " << catalogue.loader
                  << " threw " << typeid(other).name() << ": " << other.what();
  }
}

// "07-missing-name.json" -> "07_missing_name": GoogleTest names are letters, digits and '_'.
inline std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

inline void expect_enough_files(const Catalogue& catalogue) {
  EXPECT_GE(catalogue_files(catalogue.dir).size(), catalogue.minimum_size)
      << "in " << catalogue.dir.string();
}

inline void expect_files_named_number_then_short_name(const Catalogue& catalogue) {
  const std::regex pattern("[0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*\\.json");
  for (const auto& path : catalogue_files(catalogue.dir)) {
    const std::string name = std::filesystem::path(path).filename().string();
    EXPECT_TRUE(std::regex_match(name, pattern)) << name << " is not named NN-short-name.json";
  }
}

// Two files with the same why are most likely one mistake tested twice.
inline void expect_every_why_unique(const Catalogue& catalogue) {
  std::map<std::string, std::string> first_file_of;  // why -> file
  for (const auto& path : catalogue_files(catalogue.dir)) {
    const std::string why = read_expectation(path).why;
    if (why.empty()) {
      ADD_FAILURE() << path << ": no \"// why: ...\" line at the top";
      continue;
    }
    auto [it, fresh] = first_file_of.emplace(why, path);
    EXPECT_TRUE(fresh) << path << " and " << it->second << " both say why: " << why;
  }
}

}  // namespace slabsim::testing

// Defines a catalogue's tests: Catalogue/Name.IsRejectedWithTheExpectedDiagnostic/<file> for
// each file, and NameCatalogue.{HoldsEnoughFiles,FilesAreNamedNumberThenShortName,
// EveryWhyIsUnique}. A macro because GoogleTest tests can only be defined at namespace scope by
// its own macros; `catalogue` is an expression giving a slabsim::testing::Catalogue.
#define SLABSIM_CATALOGUE_TESTS(Name, catalogue)                                                  \
  class Name : public ::testing::TestWithParam<std::string> {};                                   \
  TEST_P(Name, IsRejectedWithTheExpectedDiagnostic) {                                             \
    ::slabsim::testing::expect_rejected(catalogue, GetParam());                                   \
  }                                                                                               \
  INSTANTIATE_TEST_SUITE_P(                                                                       \
      Catalogue, Name, ::testing::ValuesIn(::slabsim::testing::catalogue_files((catalogue).dir)), \
      ::slabsim::testing::test_name);                                                             \
  TEST(Name##Catalogue, HoldsEnoughFiles) {                                                       \
    ::slabsim::testing::expect_enough_files(catalogue);                                           \
  }                                                                                               \
  TEST(Name##Catalogue, FilesAreNamedNumberThenShortName) {                                       \
    ::slabsim::testing::expect_files_named_number_then_short_name(catalogue);                     \
  }                                                                                               \
  TEST(Name##Catalogue, EveryWhyIsUnique) {                                                       \
    ::slabsim::testing::expect_every_why_unique(catalogue);                                       \
  }
