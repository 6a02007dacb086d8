// The `databroker` command line: `serve`, `keys create|list|revoke`, `policy check|explain`,
// `backup`, `restore`, `export` and `version`, each with --help. Configuration problems print
// as `file:line: reason`, one per line, and exit with status 2; usage errors exit with status 64.
#pragma once

namespace databroker::server {

int run_cli(int argc, char** argv);

}  // namespace databroker::server
