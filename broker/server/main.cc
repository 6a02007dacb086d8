#include "broker/server/cli.h"

int main(int argc, char** argv) { return databroker::server::run_cli(argc, argv); }
