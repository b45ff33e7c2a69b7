// fuzz_replay HARNESS PATH...: runs every file (directories: every file in them, sorted) through
// the harness once, with the same verdict as under libFuzzer. For compilers without libFuzzer and
// for ctest, which replays the seed corpus and the regression inputs of past crashes.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> input_files(const fs::path& path) {
    std::vector<fs::path> files;
    if (fs::is_directory(path)) {
        for (const auto& entry : fs::directory_iterator(path)) {
            if (entry.is_regular_file()) {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    return files;
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
    splitnet::fuzz::init_once();
    const auto& all = splitnet::fuzz::harnesses();
    const auto harness = argc >= 2 ? all.find(argv[1]) : all.end();
    if (harness == all.end()) {
        (void)std::fprintf(stderr, "usage: %s HARNESS FILE_OR_DIR...\nharnesses:", argv[0]);
        for (const auto& [name, fn] : all) {
            (void)std::fprintf(stderr, " %s", name.c_str());
        }
        (void)std::fprintf(stderr, "\n");
        return 2;
    }
    std::size_t count = 0;
    for (int i = 2; i < argc; ++i) {
        if (!fs::exists(argv[i])) {
            (void)std::fprintf(stderr, "fuzz_replay: %s does not exist\n", argv[i]);
            return 2;
        }
        for (const auto& file : input_files(argv[i])) {
            // Named first, so that the input of a finding is the last line printed.
            (void)std::fprintf(stderr, "%s: %s\n", harness->first.c_str(), file.c_str());
            splitnet::fuzz::run_one(harness->first.c_str(), harness->second, read_all(file));
            ++count;
        }
    }
    (void)std::printf("fuzz_replay %s: %zu inputs, no finding\n", harness->first.c_str(), count);
    return count > 0 ? 0 : 1;
}
