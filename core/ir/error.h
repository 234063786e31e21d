// The one error type of the core: a message that names what is wrong and where, with context added on the way up.
#pragma once

#include <stdexcept>
#include <string>

namespace qp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Prefixes `context` to an error's message, e.g. "cannot load tensor 'w': " + "raw_data has 3 bytes, ...".
[[noreturn]] inline void rethrow_with_context(const std::string& context, const std::exception& e) {
  throw Error(context + ": " + e.what());
}

}  // namespace qp
