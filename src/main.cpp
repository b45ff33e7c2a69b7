#include "splitnet/log/logging.hpp"

int main() {
    splitnet::log::init_stderr();
    return 0;
}
