// The input layer: units, suggestions, JSON documents and declarative specs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/diagnostics.hpp"
#include "config/json_document.hpp"
#include "config/spec.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace slabsim::config {
namespace {

using nlohmann::json;

template <typename T>
T value_of(const Parsed<T>& p) {
  if (auto* why = std::get_if<std::string>(&p)) ADD_FAILURE() << *why;
  return std::get<T>(p);
}
template <typename T>
bool failed(const Parsed<T>& p) {
  return std::holds_alternative<std::string>(p);
}

TEST(Units, DurationsAreWholeNanoseconds) {
  EXPECT_EQ(value_of(parse_duration_ns(json(135))), 135);
  EXPECT_EQ(value_of(parse_duration_ns(json("135ns"))), 135);
  EXPECT_EQ(value_of(parse_duration_ns(json("1.1us"))), 1100);
  EXPECT_EQ(value_of(parse_duration_ns(json("0.2us"))), 200);
  EXPECT_EQ(value_of(parse_duration_ns(json("21ms"))), 21'000'000);
  EXPECT_EQ(value_of(parse_duration_ns(json("2 s"))), 2'000'000'000);
  EXPECT_TRUE(failed(parse_duration_ns(json("1.5ns"))));
  EXPECT_TRUE(failed(parse_duration_ns(json(1.5))));
  EXPECT_TRUE(failed(parse_duration_ns(json(-3))));
  EXPECT_TRUE(failed(parse_duration_ns(json("3 parsecs"))));
  EXPECT_TRUE(failed(parse_duration_ns(json(".5us"))));
  EXPECT_TRUE(failed(parse_duration_ns(json::array())));
  EXPECT_TRUE(failed(parse_duration_ns(json("1e300s"))));
}

TEST(Units, SizesUseBinaryUnits) {
  EXPECT_EQ(value_of(parse_size_bytes(json("128MiB"))), 128ull << 20);
  EXPECT_EQ(value_of(parse_size_bytes(json("128M"))), 128ull << 20);
  EXPECT_EQ(value_of(parse_size_bytes(json("4G"))), 4ull << 30);
  EXPECT_EQ(value_of(parse_size_bytes(json("1.5GiB"))), 3ull << 29);
  EXPECT_EQ(value_of(parse_size_bytes(json(4096))), 4096u);
  EXPECT_EQ(value_of(parse_size_bytes(json("64KiB"))), 64u << 10);
  EXPECT_TRUE(failed(parse_size_bytes(json("12 furlongs"))));
  EXPECT_TRUE(failed(parse_size_bytes(json(-1))));
  EXPECT_TRUE(failed(parse_size_bytes(json(0.5))));
}

TEST(Units, CpulistsAsStringsOrArrays) {
  EXPECT_EQ(value_of(parse_cpulist(json("0-3,8,10-11"), 100)),
            (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(value_of(parse_cpulist(json::array({3, 1, 2}), 100)), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(value_of(parse_cpulist(json(""), 100)), std::vector<int>{});
  EXPECT_TRUE(failed(parse_cpulist(json("3-1"), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json("0,0"), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json("0-3,"), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json("a"), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json("200"), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json::array({1, 1}), 100)));
  EXPECT_TRUE(failed(parse_cpulist(json::array({-1}), 100)));
  EXPECT_EQ(format_cpulist({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(format_cpulist({}), "");
}

TEST(Suggest, FindsLikelyTyposOnly) {
  const std::vector<std::string> keys{"id", "socket", "cpus", "memory"};
  EXPECT_EQ(closest_match("cpu", keys), "cpus");
  EXPECT_EQ(closest_match("scoket", keys), "socket");
  EXPECT_EQ(closest_match("Memroy", keys), "memory");
  EXPECT_EQ(closest_match("frobnicate", keys), std::nullopt);
  EXPECT_EQ(closest_match("nromal", {"normal", "movable"}), "normal");
}

TEST(JsonDocument, AcceptsCommentsAndNamesSyntaxErrorsByLine) {
  auto doc = parse_json_document("// a comment\n{ /* inline */ \"a\": 1 }\n", "x.json");
  EXPECT_EQ(doc.root["a"], 1);
  try {
    parse_json_document("{\n  \"a\": 1,\n}\n", "bad.json");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].file, "bad.json");
    EXPECT_NE(e.diagnostics()[0].message.find("line 3"), std::string::npos)
        << e.diagnostics()[0].message;
  }
}

TEST(JsonDocument, RepeatedKeysAreErrorsWithTheirPath) {
  try {
    parse_json_document(R"({"nodes": [{"id": 0}, {"id": 1, "cpus": [1], "id": 2}]})", "dup.json");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].pointer, "/nodes/1/id");
    EXPECT_EQ(e.diagnostics()[0].str().rfind("dup.json: /nodes/1/id: key \"id\" appears twice", 0),
              0u)
        << e.diagnostics()[0].str();
  }
}

TEST(JsonDocument, MissingFileIsAConfigError) {
  EXPECT_THROW(load_json_document("/nonexistent/slabsim.json"), ConfigError);
}

TEST(JsonDocument, AtomicWriteReplacesWholeFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "slabsim-atomic-test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "out.json";
  write_file_atomically(path, "first\n");
  write_file_atomically(path, "second\n");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second\n");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++entries;
  EXPECT_EQ(entries, 1u) << "a temporary file was left behind";
  EXPECT_THROW(write_file_atomically(dir / "no-such-dir" / "x", "x"), std::runtime_error);
  std::filesystem::remove_all(dir);
}

class SpecTest : public ::testing::Test {
 protected:
  SpecPtr spec = with_needs(
      with_exactly_one_of(
          object("a test object",
                 {
                     required("id", integer(0, 9), "an id"),
                     optional("zone", enumeration({"normal", "movable"}), "zone", "normal"),
                     optional("a", boolean(), "a"),
                     optional("b", boolean(), "b"),
                     optional("list", array(integer(1, 5), 1, 2), "list"),
                     optional("wait", duration(1), "wait"),
                 }),
          {"a", "b"}),
      "list", "wait");

  std::vector<Diagnostic> problems(const json& value) {
    Diagnostics d("t.json");
    const bool ok = spec->validate(value, "/root", d);
    try {
      d.throw_if_any();
      EXPECT_TRUE(ok);
      return {};
    } catch (const ConfigError& e) {
      EXPECT_FALSE(ok);
      return e.diagnostics();
    }
  }
};

TEST_F(SpecTest, AcceptsValidValuesAndFillsDefaults) {
  json v = {{"id", 3}, {"a", true}};
  EXPECT_TRUE(problems(v).empty());
  spec->apply_defaults(v);
  EXPECT_EQ(v["zone"], "normal");
}

TEST_F(SpecTest, ReportsEveryProblemWithItsPath) {
  auto p = problems({{"id", "3"}, {"zone", "nromal"}, {"a", true}, {"extra", 1}});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].pointer, "/root/extra");
  EXPECT_EQ(p[1].pointer, "/root/id");
  EXPECT_EQ(p[1].message, "expected an integer from 0 to 9, got a string (\"3\")");
  EXPECT_EQ(p[2].pointer, "/root/zone");
  EXPECT_NE(p[2].message.find("did you mean \"normal\"?"), std::string::npos);
}

TEST_F(SpecTest, UnknownKeysSuggestTheClosestOne) {
  auto p = problems({{"id", 1}, {"a", true}, {"zoen", "normal"}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].pointer, "/root/zoen");
  EXPECT_NE(p[0].message.find("did you mean \"zone\"?"), std::string::npos) << p[0].message;
}

TEST_F(SpecTest, MissingRequiredKeysAreNamedAtTheObject) {
  auto p = problems({{"a", true}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].pointer, "/root");
  EXPECT_NE(p[0].message.find("missing required key \"id\""), std::string::npos);
}

TEST_F(SpecTest, ExactlyOneOfAndNeeds) {
  EXPECT_EQ(problems({{"id", 1}})[0].message, "expected exactly one of \"a\" or \"b\", found none");
  EXPECT_EQ(problems({{"id", 1}, {"a", true}, {"b", false}})[0].message,
            "expected exactly one of \"a\" or \"b\", found \"a\" and \"b\"");
  auto p = problems({{"id", 1}, {"a", true}, {"list", {1}}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].pointer, "/root/list");
}

TEST_F(SpecTest, ArraysCheckLengthAndEveryElement) {
  auto p = problems({{"id", 1}, {"a", true}, {"wait", 5}, {"list", {1, 7, 9}}});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].pointer, "/root/list");
  EXPECT_EQ(p[1].pointer, "/root/list/1");
  EXPECT_EQ(p[2].pointer, "/root/list/2");
}

TEST_F(SpecTest, JsonSchemaMirrorsTheDeclaration) {
  const json s = spec->json_schema();
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["additionalProperties"], false);
  EXPECT_EQ(s["required"], json::array({"id"}));
  EXPECT_EQ(s["properties"]["zone"]["default"], "normal");
  EXPECT_EQ(s["properties"]["zone"]["enum"], json::array({"normal", "movable"}));
  EXPECT_EQ(s["properties"]["id"]["maximum"], 9);
  EXPECT_EQ(s["allOf"][0]["oneOf"].size(), 2u);
  EXPECT_EQ(s["dependentRequired"]["list"], json::array({"wait"}));
}

}  // namespace
}  // namespace slabsim::config

namespace slabsim::config {
namespace {

TEST(SpecNumber, AcceptsFiniteNumbersInRange) {
  const SpecPtr n = number(0, 1);
  Diagnostics d("n.json");
  EXPECT_TRUE(n->validate(json(0.25), "/f", d));
  EXPECT_TRUE(n->validate(json(1), "/f", d));
  EXPECT_FALSE(n->validate(json(1.5), "/f", d));
  EXPECT_FALSE(n->validate(json("half"), "/f", d));
  EXPECT_FALSE(n->validate(json(-0.1), "/f", d));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(n->json_schema()["type"], "number");
  EXPECT_EQ(n->expectation(), "a number from 0 to 1");
}

}  // namespace
}  // namespace slabsim::config
