// The shipped examples in conf/ must stay valid configs.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/network.hpp"

namespace splitnet {
namespace {

using nlohmann::json;

TEST(ExampleConf, EveryConflistIsAValidMetaConfig) {
    int seen = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(SPLITNET_SOURCE_DIR) + "/conf")) {
        if (entry.path().extension() != ".conflist") {
            continue;
        }
        ++seen;
        std::ifstream file(entry.path());
        std::stringstream text;
        text << file.rdbuf();
        const auto list = json::parse(text.str());
        // libcni injects the list's name and version into the plugin's config.
        auto plugin = list.at("plugins").at(0);
        plugin["name"] = list.at("name");
        plugin["cniVersion"] = list.at("cniVersion");
        const auto conf = config::parse_meta_conf(plugin.dump());
        ASSERT_FALSE(conf.delegates.empty()) << entry.path();
        for (const auto& delegate : conf.delegates) {
            EXPECT_NO_THROW(delegate::parse_network_config(delegate.dump())) << entry.path();
        }
    }
    EXPECT_GE(seen, 2);
}

}  // namespace
}  // namespace splitnet
