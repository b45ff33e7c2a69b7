// The bounded JSON entry point and the UTF-8-safe serialiser.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::util {
namespace {

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
    std::string text;
    for (std::size_t i = 0; i < depth; ++i) {
        text += R"({"a":)";
    }
    text += "1";
    text += std::string(depth, '}');
    return text;
}

cni::Error parse_error(std::string_view text, const JsonLimits& limits,
                       cni::ErrorCode code = cni::ErrorCode::DecodingFailure) {
    try {
        (void)parse_json_bounded(text, "test document", limits, code);
    } catch (const cni::Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << text.substr(0, 40);
    return {cni::ErrorCode::Unknown, ""};
}

TEST(BoundedJson, DepthIsCountedOutsideStringsOnly) {
    EXPECT_EQ(json_nesting_depth("", 10), 0U);
    EXPECT_EQ(json_nesting_depth("1", 10), 0U);
    EXPECT_EQ(json_nesting_depth(R"({"a":[1,{"b":[]}]})", 10), 4U);
    EXPECT_EQ(json_nesting_depth(R"(["[[[[{{{{"])", 10), 1U);
    // An escaped quote does not end the string; an escaped backslash does not escape the quote.
    EXPECT_EQ(json_nesting_depth(R"(["\"[[[", "\\", [[]]])", 10), 3U);
    // Side by side is wide, not deep.
    EXPECT_EQ(json_nesting_depth("[[],[],[],[]]", 10), 2U);
}

TEST(BoundedJson, DepthCountStopsEarly) {
    EXPECT_EQ(json_nesting_depth(nested_arrays(1000), 5), 6U);
}

TEST(BoundedJson, ExactlyAtTheDepthLimitParses) {
    const auto arrays = parse_json_bounded(nested_arrays(kMaxJsonDepth), "doc", {});
    EXPECT_TRUE(arrays.is_array());
    const auto objects = parse_json_bounded(nested_objects(kMaxJsonDepth), "doc", {});
    EXPECT_TRUE(objects.contains("a"));
}

TEST(BoundedJson, OneLevelTooDeepIsADecodingFailure) {
    const auto e = parse_error(nested_arrays(kMaxJsonDepth + 1), {});
    EXPECT_EQ(e.code(), 6U);
    EXPECT_NE(std::string(e.what()).find("test document: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("deeper than the limit of 128 levels"), std::string::npos)
        << e.what();
}

TEST(BoundedJson, HostileDepthIsRefusedWithoutCrashing) {
    // 200k levels: what crashed splitnet on main (stack overflow in recursive copies/dumps).
    const auto arrays = parse_error(nested_arrays(200000), {});
    EXPECT_EQ(arrays.code(), 6U);
    const auto objects = parse_error(nested_objects(200000), {kMaxConfigBytes, kMaxJsonDepth});
    EXPECT_EQ(objects.code(), 6U);
    // Unterminated: the scan stops at the limit as well.
    EXPECT_FALSE(try_parse_json_bounded(std::string(500000, '{'), {}).has_value());
}

TEST(BoundedJson, ComposedLimitAllowsWhatTheInputLimitRefuses) {
    const auto text = nested_arrays(kMaxJsonDepth + 10);
    EXPECT_FALSE(try_parse_json_bounded(text, {}).has_value());
    EXPECT_TRUE(try_parse_json_bounded(text, {kMaxConfigBytes, kMaxComposedJsonDepth}).has_value());
}

TEST(BoundedJson, WideDocumentsAreFine) {
    std::string text = "[";
    for (int i = 0; i < 100000; ++i) {
        text += i == 0 ? "{}" : ",{}";
    }
    text += "]";
    const auto doc = parse_json_bounded(text, "wide", {});
    EXPECT_EQ(doc.size(), 100000U);
}

TEST(BoundedJson, SizeLimitIsExact) {
    const std::string text = R"({"k":"0123456789"})";
    EXPECT_TRUE(try_parse_json_bounded(text, {text.size(), kMaxJsonDepth}).has_value());
    std::string problem;
    EXPECT_FALSE(try_parse_json_bounded(text, {text.size() - 1, kMaxJsonDepth}, &problem));
    EXPECT_NE(problem.find("18 bytes long, more than the limit of 17 bytes"), std::string::npos)
        << problem;
}

TEST(BoundedJson, BigDocumentIsRefusedBeforeParsing) {
    // A valid 5 MiB document: refused by size alone (nothing is built).
    const std::string text = "\"" + std::string(5 * kMiB, 'x') + "\"";
    const auto e = parse_error(text, {kMaxConfigBytes, kMaxJsonDepth});
    EXPECT_NE(std::string(e.what()).find("more than the limit of 4194304 bytes"),
              std::string::npos);
}

TEST(BoundedJson, SyntaxErrorsKeepTheParserMessageAndTheCallersCode) {
    const auto e = parse_error(R"({"a": )", {}, cni::ErrorCode::InvalidNetworkConfig);
    EXPECT_EQ(e.code(), 7U);
    EXPECT_NE(std::string(e.what()).find("test document: [json.exception.parse_error"),
              std::string::npos)
        << e.what();
    std::string problem;
    EXPECT_FALSE(try_parse_json_bounded("nope", {}, &problem).has_value());
    EXPECT_NE(problem.find("parse_error"), std::string::npos);
}

TEST(BoundedJson, OrderedJsonKeepsDocumentOrder) {
    const auto doc = parse_json_bounded<nlohmann::ordered_json>(R"({"z":1,"a":2})", "doc", {});
    EXPECT_EQ(doc.begin().key(), "z");
}

TEST(DumpJson, InvalidUtf8BecomesReplacementCharacters) {
    const nlohmann::json doc = {{"msg", std::string("bad \xff\xfe byte and a cut \xe2\x82")}};
    EXPECT_THROW((void)doc.dump(), nlohmann::json::type_error);  // what aborted splitnet
    const auto text = dump_json(doc);
    const auto back = nlohmann::json::parse(text);  // valid JSON, valid UTF-8
    EXPECT_EQ(back["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte and a cut \xEF\xBF\xBD");
}

TEST(DumpJson, ValidTextIsUnchangedAndIndentWorks) {
    const nlohmann::json doc = {{"name", "caf\xc3\xa9 \xf0\x9f\x9a\x80"}};
    EXPECT_EQ(dump_json(doc), doc.dump());
    EXPECT_EQ(dump_json(doc, 2), doc.dump(2));
}

TEST(Utf8Clip, PrefixNeverEndsInsideACharacter) {
    const std::string euro = "\xe2\x82\xac";  // 3 bytes
    const std::string text = "ab" + euro + "cd";
    EXPECT_EQ(utf8_prefix(text, 2), "ab");
    EXPECT_EQ(utf8_prefix(text, 3), "ab");
    EXPECT_EQ(utf8_prefix(text, 4), "ab");
    EXPECT_EQ(utf8_prefix(text, 5), "ab" + euro);
    EXPECT_EQ(utf8_prefix(text, 100), text);
    const std::string rocket = "\xf0\x9f\x9a\x80";  // 4 bytes
    for (std::size_t cut = 1; cut < 4; ++cut) {
        EXPECT_EQ(utf8_prefix(rocket + rocket, 4 + cut), rocket) << cut;
    }
    EXPECT_EQ(utf8_prefix("\xc3\xa9", 1), "");
}

TEST(Utf8Clip, CutTailIsDroppedOtherBytesAreKept) {
    EXPECT_EQ(without_cut_utf8_tail("ok \xe2\x82"), "ok ");
    EXPECT_EQ(without_cut_utf8_tail("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
    EXPECT_EQ(without_cut_utf8_tail("ok"), "ok");
    EXPECT_EQ(without_cut_utf8_tail(""), "");
    // Not a cut character but plain garbage: left for dump_json to replace.
    EXPECT_EQ(without_cut_utf8_tail("x\x80\x80\x80\x80"), "x\x80\x80\x80\x80");
}

TEST(Utf8Clip, ClipOfMultiByteTextIsValidUtf8) {
    std::string text;
    for (int i = 0; i < 3000; ++i) {
        text += "\xe2\x82\xac";  // 9000 bytes of euro signs
    }
    const auto clipped = clip(text, 4096);
    EXPECT_EQ(clipped.substr(clipped.size() - 16), "... (9000 bytes)");
    const auto kept = clipped.substr(0, clipped.size() - 16);
    EXPECT_EQ(kept.size(), 4095U);  // 1365 whole characters
    // nlohmann's strict dump() throws on invalid UTF-8: the clipped text must not.
    EXPECT_NO_THROW((void)nlohmann::json(clipped).dump());
    EXPECT_EQ(clip("short", 4096), "short");
}

TEST(FindKeyGo, ExactThenLastFolded) {
    const auto doc = nlohmann::json::parse(R"({"Type":"a","type":"b","NAME":"n","Name":"m"})");
    EXPECT_EQ(*find_key_go(doc, "type"), "b");
    EXPECT_EQ(*find_key_go(doc, "name"), "m");  // the later folded duplicate wins, as in Go
    EXPECT_EQ(find_key_go(doc, "plugins"), nullptr);
    EXPECT_EQ(find_key_go(nlohmann::json::array(), "type"), nullptr);
}

TEST(FindGiven, NullCountsAsAbsent) {
    const auto doc = nlohmann::json::parse(R"({"a":null,"b":0,"B":1})");
    EXPECT_EQ(find_given(doc, "a"), nullptr);
    EXPECT_EQ(find_given(doc, "c"), nullptr);
    ASSERT_NE(find_given(doc, "b"), nullptr);
    EXPECT_EQ(*find_given(doc, "b"), 0);  // exact keys only
}

TEST(TypedReaders, AcceptOnlyTheirType) {
    using nlohmann::json;
    EXPECT_EQ(json_string(json("x")), "x");
    EXPECT_FALSE(json_string(json(1)).has_value());
    EXPECT_EQ(json_bool(json(true)), true);
    EXPECT_FALSE(json_bool(json("true")).has_value());
    EXPECT_EQ(json_string_list(json::parse(R"(["a","b"])")), (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(json_string_list(json::parse(R"(["a",1])")).has_value());
    EXPECT_FALSE(json_string_list(json("a")).has_value());
    // The same reader for ordered documents (annotations keep their key order).
    EXPECT_EQ(json_string(nlohmann::ordered_json("y")), "y");
}

TEST(TypedReaders, IntegersWithinRange) {
    using nlohmann::json;
    constexpr std::int64_t kMin = -5;
    constexpr std::int64_t kMax = 5;
    EXPECT_EQ(json_integer(json(5), kMin, kMax), 5);
    EXPECT_EQ(json_integer(json(-5), kMin, kMax), -5);
    EXPECT_FALSE(json_integer(json(6), kMin, kMax).has_value());
    EXPECT_FALSE(json_integer(json::parse("3.0"), kMin, kMax).has_value());
    EXPECT_EQ(json_integer(json::parse("3.0"), kMin, kMax, IntegralFloats::Accept), 3);
    EXPECT_FALSE(json_integer(json::parse("3.5"), kMin, kMax, IntegralFloats::Accept).has_value());
    EXPECT_FALSE(json_integer(json::parse("1e300"), INT64_MIN, INT64_MAX, IntegralFloats::Accept)
                     .has_value());
    EXPECT_FALSE(
        json_integer(json::parse("18446744073709551615"), INT64_MIN, INT64_MAX).has_value());
    EXPECT_FALSE(json_integer(json("1"), kMin, kMax).has_value());
}

TEST(NetworkConfigShape, TypeFirstThenPlugins) {
    using nlohmann::json;
    EXPECT_EQ(network_config_shape(json::parse(R"({"type":"ptp"})")), NetworkConfigShape::Conf);
    EXPECT_EQ(network_config_shape(json::parse(R"({"Type":"ptp"})")), NetworkConfigShape::Conf);
    EXPECT_EQ(network_config_shape(json::parse(R"({"type":"ptp","plugins":[]})")),
              NetworkConfigShape::Conf);
    EXPECT_EQ(network_config_shape(json::parse(R"({"type":"","plugins":[]})")),
              NetworkConfigShape::ConfList);
    EXPECT_EQ(network_config_shape(json::parse(R"({"plugins":[{"type":"ptp"}]})")),
              NetworkConfigShape::ConfList);
    EXPECT_EQ(network_config_shape(json::parse(R"({"type":1,"plugins":{}})")),
              NetworkConfigShape::Neither);
    EXPECT_EQ(network_config_shape(json::array()), NetworkConfigShape::Neither);
}

}  // namespace
}  // namespace splitnet::util
