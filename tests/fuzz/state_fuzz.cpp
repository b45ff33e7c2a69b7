// State files (<cniDir>/<containerID>.json): decoded as DEL and CHECK read them, through the
// store (a corrupt file is moved aside), and written back.

#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(state) {
    fuzz::attempt([&] {
        // As StateStore::load reads it: bounded in size and depth.
        const auto doc = util::try_parse_json_bounded(
            input, {util::kMaxResultBytes, util::kMaxComposedJsonDepth});
        if (!doc) {
            return;
        }
        const auto state = store::state_from_json(*doc);
        // What was read can be written again, and reads back the same.
        const auto again = store::state_to_json(state);
        fuzz::require(store::state_to_json(store::state_from_json(again)) == again,
                      "state_to_json(state_from_json(x)) is stable");
        (void)util::dump_json(again, 2);
    });
    const store::StateStore store(fuzz::scratch_dir());
    const store::StateKey key{"fuzz", "eth0"};
    util::write_file_atomic(fuzz::scratch_dir(), "fuzz@eth0.json", input, 0600);
    fuzz::attempt([&] { (void)store.load(key); });
    store.remove(key, /*legacy=*/false);
    ::unlink((fuzz::scratch_dir() + "/fuzz@eth0.corrupt").c_str());
}
