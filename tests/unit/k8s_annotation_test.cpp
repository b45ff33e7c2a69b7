#include <array>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/annotation.hpp"

namespace splitnet::k8s {
namespace {

std::string error_of(std::string_view value, bool strict = false) {
    try {
        parse_network_selection(value, "pod-ns", strict);
    } catch (const cni::Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(Annotation, CommaFormWithNamespaceAndIfname) {
    const auto sels =
        parse_network_selection(" unifi-vpn , other/net-b@vpn0,c@ net9 ", "media", false);
    ASSERT_EQ(sels.size(), 3U);
    EXPECT_EQ(sels[0].name, "unifi-vpn");
    EXPECT_EQ(sels[0].namespace_, "media");
    EXPECT_EQ(sels[0].interface, "");
    EXPECT_EQ(sels[1].namespace_, "other");
    EXPECT_EQ(sels[1].name, "net-b");
    EXPECT_EQ(sels[1].interface, "vpn0");
    EXPECT_EQ(sels[2].interface, "net9");
    EXPECT_FALSE(sels[0].default_route.has_value());
}

TEST(Annotation, DuplicateReferencesStayDistinct) {
    EXPECT_EQ(parse_network_selection("net-a,net-a", "ns", false).size(), 2U);
}

TEST(Annotation, CommaFormErrorsAreMultusTexts) {
    struct Case {
        const char* value;
        const char* message;
    };

    const auto cases = std::to_array<Case>({
        {"a/b/c",
         "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object "
         "(failed at '/')"},
        {"a@b@c",
         "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object "
         "(failed at '@')"},
        {"Net_A",
         "parsePodNetworkAnnotation: parsePodNetworkObjectName: Failed to parse: one or "
         "more items did not match comma-delimited format (must consist of lower case "
         "alphanumeric characters). Must start and end with an alphanumeric character), "
         "mismatch @ 'Net_A'"},
        {"-bad/net", "mismatch @ '-bad'"},
        {"net@0123456789abcdef",
         "Failed to parse interface name: must be less than 15 chars and "
         "not contain '/' or spaces. interface name '0123456789abcdef'"},
    });
    for (const auto& c : cases) {
        EXPECT_NE(error_of(c.value).find(c.message), std::string::npos)
            << c.value << " -> " << error_of(c.value);
    }
    // 15 characters, uppercase and '_' are accepted (PR #1243).
    EXPECT_EQ(parse_network_selection("net@Abcdefghij_1234", "ns", false)[0].interface.size(), 15U);
    // An empty item is not rejected here (it fails later at the NAD GET), as in Multus.
    EXPECT_EQ(parse_network_selection("a,,b", "ns", false)[1].name, "");
}

TEST(Annotation, EmptyValueIsAnError) {
    EXPECT_EQ(error_of(""),
              "parsePodNetworkAnnotation: pod annotation does not have \"network\" as key");
}

TEST(Annotation, JsonFormEveryField) {
    const auto sels = parse_network_selection(R"([{
        "name": "macvlan-conf", "namespace": "media", "interface": "vpn0",
        "ips": ["192.0.2.10/24", "2001:db8::10/64"], "mac": "c2:b0:57:49:47:f1",
        "infiniband-guid": "c2:b0:57:49:47:f1:00:01",
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "extra": 1}],
        "bandwidth": {"ingressRate": 1000, "egressBurst": 5},
        "deviceID": "0000:00:1f.0", "cni-args": {"foo": "bar", "n": 1},
        "default-route": ["192.0.2.1", "2001:db8:0:0::1"]
    }])",
                                              "pod-ns", false);
    ASSERT_EQ(sels.size(), 1U);
    const auto& s = sels[0];
    EXPECT_EQ(s.name, "macvlan-conf");
    EXPECT_EQ(s.namespace_, "media");
    EXPECT_EQ(s.interface, "vpn0");
    EXPECT_EQ(s.ips, (std::vector<std::string>{"192.0.2.10/24", "2001:db8::10/64"}));
    EXPECT_EQ(s.mac, "c2:b0:57:49:47:f1");
    EXPECT_EQ(s.infiniband_guid, "c2:b0:57:49:47:f1:00:01");
    EXPECT_EQ(s.port_mappings,
              nlohmann::json::parse(R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp"}])"));
    EXPECT_EQ(s.bandwidth, nlohmann::json::parse(R"({"ingressRate":1000,"ingressBurst":0,
                                                     "egressRate":0,"egressBurst":5})"));
    EXPECT_EQ(s.device_id, "0000:00:1f.0");
    EXPECT_EQ(s.cni_args, nlohmann::json::parse(R"({"foo":"bar","n":1})"));
    ASSERT_TRUE(s.default_route.has_value());
    EXPECT_EQ(*s.default_route, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
}

TEST(Annotation, JsonFormDefaultsAndAliases) {
    const auto sels = parse_network_selection(
        R"([{"name":"a","interfaceRequest":"old0"},{"name":"b","interface":"new0","interfaceRequest":"old1"},
            {"Name":"c","NAMESPACE":"x","default-route":[]}])",
        "pod-ns", false);
    ASSERT_EQ(sels.size(), 3U);
    EXPECT_EQ(sels[0].namespace_, "pod-ns");
    EXPECT_EQ(sels[0].interface, "old0");  // alias used when "interface" is empty
    EXPECT_EQ(sels[1].interface, "new0");
    EXPECT_EQ(sels[2].name, "c");  // Go's case-insensitive key match
    EXPECT_EQ(sels[2].namespace_, "x");
    ASSERT_TRUE(sels[2].default_route.has_value());
    EXPECT_TRUE(sels[2].default_route->empty());
    EXPECT_TRUE(sels[0].port_mappings.is_null());
    EXPECT_TRUE(sels[0].cni_args.is_null());
}

TEST(Annotation, JsonValidationErrors) {
    EXPECT_EQ(error_of(R"([{"name":"a","mac":"zz:zz"}])"),
              "parsePodNetworkAnnotation: failed to mac: address zz:zz: invalid MAC address");
    EXPECT_EQ(error_of(R"([{"name":"a","infiniband-guid":"1"}])"),
              "parsePodNetworkAnnotation: failed to validate infiniband GUID: address 1: invalid "
              "MAC address");
    EXPECT_EQ(error_of(R"([{"name":"a","ips":["192.0.2.1/33"]}])"),
              "failed to parse CIDR \"192.0.2.1/33\": invalid CIDR address: 192.0.2.1/33");
    EXPECT_EQ(error_of(R"([{"name":"a","ips":["192.0.2.300"]}])"),
              "failed to parse IP address \"192.0.2.300\"");
    EXPECT_NE(error_of(R"([{"name":"a","default-route":["nope"]}])")
                  .find("JSON format: invalid IP address: nope"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"name":"a"})")
                  .find("failed to parse pod Network Attachment Selection "
                        "Annotation JSON format: json: cannot unmarshal "
                        "object into Go value"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name":5}])")
                  .find("cannot unmarshal number into Go struct field NetworkSelectionElement.name "
                        "of type string"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name":"a","cni-args":[1]}])").find("NetworkSelectionElement.cni-args"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name":"a",)").find("JSON format"), std::string::npos);
}

TEST(Annotation, MacFormsAcceptedLikeGoParseMAC) {
    for (const char* mac : {"00:00:5e:00:53:01", "00-00-5e-00-53-01", "0000.5e00.5301",
                            "02:00:5e:10:00:00:00:01", "0000.5e10.0000.0001"}) {
        const std::string value = std::string(R"([{"name":"a","mac":")") + mac + "\"}]";
        EXPECT_NO_THROW(parse_network_selection(value, "ns", false)) << mac;
    }
    EXPECT_NE(error_of(R"([{"name":"a","mac":"00:00-5e:00:53:01"}])"), "no error");
}

TEST(Annotation, UnknownKeyWarnsOrFailsInStrictMode) {
    const std::string value = R"([{"name":"a","gateway":["192.0.2.1"]}])";
    EXPECT_EQ(parse_network_selection(value, "ns", false).size(), 1U);
    const auto strict = error_of(value, true);
    EXPECT_NE(strict.find("unknown key \"gateway\""), std::string::npos) << strict;
    EXPECT_NE(strict.find("default-route"), std::string::npos);
    // ipam-claim-reference is not forwarded (checklist 11).
    EXPECT_NE(error_of(R"([{"name":"a","ipam-claim-reference":"x"}])", true).find("not forwarded"),
              std::string::npos);
}

TEST(Annotation, EmptyJsonListIsNoNetworks) {
    EXPECT_TRUE(parse_network_selection(R"([])", "ns", false).empty());
}

TEST(Annotation, Dns1123) {
    EXPECT_TRUE(is_dns1123_label("unifi-vpn"));
    EXPECT_FALSE(is_dns1123_label("a.b"));
    EXPECT_FALSE(is_dns1123_label("-a"));
    EXPECT_TRUE(is_dns1123_subdomain("a.b-c.d"));
    for (const char* bad : {"..", "../etc", "a/b", "a%2fb", "A", "", "a..b", "a."}) {
        EXPECT_FALSE(is_dns1123_subdomain(bad)) << bad;
    }
}

}  // namespace
}  // namespace splitnet::k8s
