#include <gtest/gtest.h>

#include "splitnet/util/go_json.hpp"

namespace splitnet::util {
namespace {

TEST(GoJson, QuoteEscapesLikeEncodingJson) {
    EXPECT_EQ(go_quote("a\"b\\c\n\t<>&/"), R"("a\"b\\c\n\t\u003c\u003e\u0026/")");
    EXPECT_EQ(go_quote(std::string("\x01\x7f", 2)), "\"\\u0001\x7f\"");
    EXPECT_EQ(go_quote("\xe2\x80\xa8 \xc3\xa9"), "\"\\u2028 \xc3\xa9\"");
    EXPECT_EQ(go_quote("\xff"), R"("\ufffd")");
}

TEST(GoJson, MarshalSortsKeysAndPrintsFloat64) {
    const auto doc =
        nlohmann::json::parse(R"({"b":1,"a":[1.5,2.0,1e-7,1e21,"<"],"c":{"z":true,"y":null}})");
    EXPECT_EQ(go_marshal(doc),
              R"({"a":[1.5,2,1e-7,1e+21,"\u003c"],"b":1,"c":{"y":null,"z":true}})");
}

}  // namespace
}  // namespace splitnet::util
