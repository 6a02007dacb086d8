// Loading the policy document from disk: the one place the policy engine does I/O.
//
// Used at start, on SIGHUP and by `POST /v1/admin/policy/reload` and `databroker policy check`.
// It only reads and compiles; installing the result (policies/engine.h) is the caller's move, so
// a document with errors never replaces the version in force.
//
// Thread-safe; blocks on file I/O, so call it from a thread that may block (not a network
// thread).
#pragma once

#include <set>
#include <string>

#include "policies/policy.h"

namespace databroker::policies {

// Reads the file at `path` and compiles it (compile_policy). A file that cannot be read is one
// problem without a line ("cannot read the policy file: <reason>"). Format problems with
// `PolicyProblem::to_string(path)`.
CompileResult load_policy_file(const std::string& path,
                               const std::set<std::string, std::less<>>& profiles,
                               const std::set<std::string, std::less<>>& kinds);

}  // namespace databroker::policies
