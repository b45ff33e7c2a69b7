#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "splitnet/k8s/events.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::k8s {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

// 2026-12-04T17:35:35.123456789Z
system_clock::time_point sample_time() {
    return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::nanoseconds(1796405735123456789LL)));
}

EventSpec added(std::string message) {
    return {EventType::Normal, "AddedInterface", "ADD", std::move(message)};
}

TEST(Events, BodyIsACoreV1EventAboutThePod) {
    const EventPod pod{"media", "unifi-0", "6f1c2a4e-uid"};
    const auto body = event_body(pod, added("Add net1 [192.168.99.99/24] from media/unifi-vpn"),
                                 "node-a", sample_time());
    const auto expected = json::parse(R"({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "unifi-0.18ee1d7f92821315", "namespace": "media"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "media",
                           "name": "unifi-0", "uid": "6f1c2a4e-uid"},
        "reason": "AddedInterface",
        "message": "Add net1 [192.168.99.99/24] from media/unifi-vpn",
        "type": "Normal", "action": "ADD",
        "source": {"component": "splitnet", "host": "node-a"},
        "reportingComponent": "splitnet", "reportingInstance": "node-a",
        "firstTimestamp": "2026-12-04T17:35:35Z", "lastTimestamp": "2026-12-04T17:35:35Z",
        "eventTime": "2026-12-04T17:35:35.123456Z",
        "count": 1})");
    EXPECT_EQ(body, expected) << body.dump(2);
}

TEST(Events, WarningTypeAndNoUidWhenUnknown) {
    const auto body =
        event_body({"default", "web", ""},
                   {EventType::Warning, "FailedAddInterface", "ADD", "boom"}, "n", sample_time());
    EXPECT_EQ(body["type"], "Warning");
    EXPECT_FALSE(body["involvedObject"].contains("uid"));
}

TEST(Events, NameIsPodDotHexNanosecondsAsClientGo) {
    EXPECT_EQ(event_name("web", sample_time()), "web.18ee1d7f92821315");
    EXPECT_EQ(event_name("web", system_clock::time_point{}), "web.0");
}

TEST(Events, NameOfALongPodStaysAValidObjectName) {
    const std::string long_name = std::string(240, 'a') + "-b.c";  // 244 bytes, valid subdomain
    const auto name = event_name(long_name, sample_time());
    EXPECT_LE(name.size(), kMaxObjectNameBytes);
    EXPECT_EQ(name, std::string(236, 'a') + ".18ee1d7f92821315");
    // Cut right after a '-' or '.': those are dropped, the name still ends in an alphanumeric.
    const std::string dashed = std::string(235, 'a') + "-" + std::string(10, 'b');
    EXPECT_EQ(event_name(dashed, sample_time()), std::string(235, 'a') + ".18ee1d7f92821315");
}

TEST(Events, ShortMessageIsKeptAsIs) {
    const std::string text = "Add net1 [] from media/x";
    EXPECT_EQ(event_message(text), text);
}

TEST(Events, LongMessageIsClippedToWhatTheApiServerAccepts) {
    const std::string huge(100000, 'x');
    const auto clipped = event_message(huge);
    EXPECT_LE(clipped.size(), kMaxEventMessageBytes);
    EXPECT_NE(clipped.find("(100000 bytes)"), std::string::npos) << clipped;
    // The body carries the clipped text, never the original.
    const auto body = event_body({"a", "b", ""}, added(huge), "n", sample_time());
    EXPECT_EQ(body["message"], clipped);
}

TEST(Events, ClippingNeverCutsAUtf8Character) {
    std::string text;
    for (int i = 0; i < 1000; ++i) {
        text += "\xC3\xA9";  // é, two bytes
    }
    const auto clipped = event_message(text);
    EXPECT_LE(clipped.size(), kMaxEventMessageBytes);
    EXPECT_EQ(util::valid_utf8(clipped), clipped);
}

TEST(Events, InvalidUtf8BecomesReplacementCharactersWithinTheLimit) {
    // Each invalid byte becomes U+FFFD (three bytes): the limit holds after the replacement.
    const std::string invalid(2000, '\xFF');
    const auto clipped = event_message(invalid);
    EXPECT_LE(clipped.size(), kMaxEventMessageBytes);
    EXPECT_EQ(clipped.substr(0, 3), "\xEF\xBF\xBD");
    const auto body = event_body({"a", "b", ""}, added("bad \xC3 byte"), "n\xFF", sample_time());
    EXPECT_EQ(body["message"], "bad \xEF\xBF\xBD byte");
    EXPECT_EQ(body["reportingInstance"], "n\xEF\xBF\xBD");
    // The whole body serialises without replacement and parses back unchanged.
    EXPECT_EQ(json::parse(util::dump_json(body)), body);
}

TEST(Events, MessageIsNeverAFormatString) {
    const auto body = event_body({"a", "b", ""}, added("{} %s %n {0}"), "n", sample_time());
    EXPECT_EQ(body["message"], "{} %s %n {0}");
}

TEST(Events, ReportingInstanceIsClippedToTheApiLimit) {
    const auto body = event_body({"a", "b", ""}, added("m"), std::string(300, 'n'), sample_time());
    EXPECT_EQ(body["reportingInstance"].get<std::string>().size(), kMaxEventFieldBytes);
    EXPECT_EQ(body["source"]["host"], body["reportingInstance"]);
}

TEST(Events, PathIsTheNamespacesEventsCollection) {
    EXPECT_EQ(events_path("media"), "/api/v1/namespaces/media/events");
}

TEST(Events, TimesOfOneProcessNeverRepeat) {
    auto previous = next_event_time();
    for (int i = 0; i < 1000; ++i) {
        const auto next = next_event_time();
        ASSERT_GT(next, previous);
        ASSERT_NE(event_name("p", next), event_name("p", previous));
        previous = next;
    }
}

// ---- the plugin's Events ----

TEST(AddedInterfaceEvents, MultusMessageFormat) {
    EXPECT_EQ(added_interface_message("net1", {"192.168.99.99/24"}, "media/unifi-vpn"),
              "Add net1 [192.168.99.99/24] from media/unifi-vpn");
    EXPECT_EQ(added_interface_message("eth0", {"10.42.0.7/24", "fd00::7/64"}, "cilium"),
              "Add eth0 [10.42.0.7/24 fd00::7/64] from cilium");
    EXPECT_EQ(added_interface_message("net2", {}, ""), "Add net2 []");
}

TEST(AddedInterfaceEvents, OnePerAttachmentWithInterfacesOrIpsInPlanOrder) {
    const std::vector<AttachmentStatus> attachments = {
        {"cilium", "eth0", true, json::parse(R"({"cniVersion":"0.3.1",
            "interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}],
            "ips":[{"version":"4","address":"10.42.0.7/24","interface":0},
                   {"version":"6","address":"fd00:0:0::7/64","interface":0}]})")},
        // No interfaces and no IPs: Multus sends no Event for such a result.
        {"media/empty", "net1", false, json::parse(R"({"cniVersion":"1.0.0"})")},
        // Not run (rolled back or never added): nothing.
        {"media/none", "net2", false, nullptr},
        {"media/unifi-vpn", "net3", false, json::parse(R"({"cniVersion":"1.0.0",
            "interfaces":[{"name":"net3","sandbox":"/var/run/netns/x"}]})")},
        {"media/old", "net4", false, json::parse(R"({"cniVersion":"0.2.0",
            "ip4":{"ip":"192.0.2.9/24"}})")},
    };
    const auto events = added_interface_events(attachments);
    ASSERT_EQ(events.size(), 3U);
    for (const auto& e : events) {
        EXPECT_EQ(e.type, EventType::Normal);
        EXPECT_EQ(e.reason, "AddedInterface");
        EXPECT_EQ(e.action, "ADD");
    }
    // IPv6 printed canonically, as Go's net.IPNet.String() does.
    EXPECT_EQ(events[0].message, "Add eth0 [10.42.0.7/24 fd00::7/64] from cilium");
    EXPECT_EQ(events[1].message, "Add net3 [] from media/unifi-vpn");
    EXPECT_EQ(events[2].message, "Add net4 [192.0.2.9/24] from media/old");
}

TEST(AddedInterfaceEvents, ResultThatIsNotACniResultThrows) {
    const std::vector<AttachmentStatus> attachments = {
        {"x", "net1", false, json::parse(R"({"cniVersion":"1.0.0","ips":"nope"})")}};
    EXPECT_THROW(added_interface_events(attachments), cni::Error);
}

TEST(FailedAddEvent, WarningWithTheErrorAndItsDetails) {
    const auto e = failed_add_event(cni::Error(
        cni::ErrorCode::InvalidNetworkConfig,
        R"(error adding network "media/unifi-vpn" (net1): macvlan: master "eth9" not found)",
        "create it or fix the NAD"));
    EXPECT_EQ(e.type, EventType::Warning);
    EXPECT_EQ(e.reason, "FailedAddInterface");
    EXPECT_EQ(e.action, "ADD");
    EXPECT_EQ(e.message,
              R"(error adding network "media/unifi-vpn" (net1): macvlan: master "eth9" not found: )"
              "create it or fix the NAD");
    EXPECT_EQ(failed_add_event(cni::Error(cni::ErrorCode::Other, "boom")).message, "boom");
}

TEST(NoNetworkFoundEvent, WarningInMultusWords) {
    const auto e = no_network_found_event(
        {"media", "net-gone",
         R"(network-attachment-definitions.k8s.cni.cncf.io "net-gone" not found)"});
    EXPECT_EQ(e.type, EventType::Warning);
    EXPECT_EQ(e.reason, "NoNetworkFound");
    EXPECT_EQ(e.action, "ADD");
    EXPECT_EQ(e.message,
              "cannot find a network-attachment-definition (net-gone) in namespace (media): "
              R"(network-attachment-definitions.k8s.cni.cncf.io "net-gone" not found)");
}

}  // namespace
}  // namespace splitnet::k8s
