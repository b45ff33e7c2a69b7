// State files (<cniDir>/<containerID>.json): decoded as DEL and CHECK read them, through the
// store (a corrupt file is moved aside), and written back.

#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/files.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(state) {
    fuzz::attempt([&] {
        const auto doc = nlohmann::json::parse(input, nullptr, false);
        if (doc.is_discarded()) {
            return;
        }
        const auto state = store::state_from_json(doc);
        // What was read can be written again, and reads back the same.
        const auto again = store::state_to_json(state);
        fuzz::require(store::state_to_json(store::state_from_json(again)) == again,
                      "state_to_json(state_from_json(x)) is stable");
        (void)again.dump(2);
    });
    const store::StateStore store(fuzz::scratch_dir());
    util::write_file_atomic(fuzz::scratch_dir(), "fuzz.json", input, 0600);
    fuzz::attempt([&] { (void)store.load("fuzz"); });
    store.remove("fuzz");
    ::unlink((fuzz::scratch_dir() + "/fuzz.corrupt").c_str());
}
